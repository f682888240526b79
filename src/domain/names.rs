//! What a file name inside a bundle may be: a plain relative path that every
//! marker's unzip tool, on Windows, macOS or Linux, shows and writes as the
//! one file the student meant.
//!
//! Characters are judged by their Unicode properties (ICU's data), not by a
//! hand list: anything invisible (default-ignorable or a format character)
//! is refused, and two names that a case-insensitive, normalising file
//! system would take for one are refused together.

use std::collections::HashMap;

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory};
use icu_properties::{CodePointMapData, CodePointSetData};

/// The longest name of one file or folder, in bytes (most file systems' limit).
pub const MAX_PART_BYTES: usize = 255;
/// The longest path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// The most folders a path may lie in.
pub const MAX_DEPTH: usize = 32;

/// Characters that are there without being seen: zero-width marks,
/// direction overrides, soft hyphens, variation selectors, fillers, tags.
pub fn is_invisible(c: char) -> bool {
    CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// Characters that look like a folder separator and are not one.
fn looks_like_a_slash(c: char) -> bool {
    matches!(
        c,
        '\u{FF0F}' | '\u{FF3C}' | '\u{2215}' | '\u{2044}' | '\u{29F8}' | '\u{29F9}' | '\u{2216}'
    )
}

/// A name as a refusal shows it: invisible characters spelt out, so that
/// the student can see what is wrong with a name that looks right.
pub fn shown(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                format!("<U+{:04X}>", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Why a name is not a plain relative path, or `Ok`.
///
/// The raw name is checked, not the zip crate's `enclosed_name()`, which
/// would quietly turn `/etc/passwd` into `etc/passwd`.
pub fn check(name: &str) -> Result<(), String> {
    let refuse = |why: &str| Err(why.to_string());
    if name.is_empty() {
        return refuse("it has no name");
    }
    if name.contains('\u{FFFD}') {
        return refuse("its name is not readable text (it is not UTF-8)");
    }
    if name.chars().any(char::is_control) {
        return refuse("its name contains control characters");
    }
    if let Some(c) = name.chars().find(|&c| is_invisible(c)) {
        return Err(format!(
            "its name contains an invisible character (U+{:04X})",
            c as u32
        ));
    }
    if name.contains('\\') {
        return refuse("its name contains a backslash");
    }
    if name.chars().any(looks_like_a_slash) {
        return refuse("its name contains a character that looks like a slash but is not one");
    }
    if name.starts_with('/') {
        return refuse("it is an absolute path");
    }
    let mut chars = name.chars();
    if let (Some(letter), Some(':')) = (chars.next(), chars.next())
        && letter.is_ascii_alphabetic()
    {
        return refuse("it starts with a drive letter");
    }
    if name.contains(':') {
        return refuse("its name contains a colon");
    }
    if name
        .chars()
        .any(|c| matches!(c, '<' | '>' | '"' | '|' | '?' | '*'))
    {
        return refuse("its name contains a character Windows does not allow (< > \" | ? *)");
    }
    if name.len() > MAX_PATH_BYTES {
        return Err(format!("its path is longer than {MAX_PATH_BYTES} bytes"));
    }
    let body = name.strip_suffix('/').unwrap_or(name);
    if body.split('/').count() > MAX_DEPTH + 1 {
        return Err(format!("its path is more than {MAX_DEPTH} folders deep"));
    }
    for part in body.split('/') {
        if is_a_windows_device(part) {
            return refuse(
                "a name in its path is one Windows keeps for a device (CON, NUL, COM1...)",
            );
        }
        match part {
            ".." => return refuse("it climbs out of the bundle with '..'"),
            "" => return refuse("its path has an empty folder name"),
            "." => return refuse("its path contains '.' as a folder"),
            _ if part.ends_with('.') || part.ends_with(' ') => {
                return refuse(
                    "a name in its path ends with a dot or a space, which Windows drops",
                );
            }
            _ if part.len() > MAX_PART_BYTES => {
                return Err(format!(
                    "a name in its path is longer than {MAX_PART_BYTES} bytes"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Names Windows gives to devices, with or without an extension (`aux.c`).
fn is_a_windows_device(part: &str) -> bool {
    let stem = part
        .split('.')
        .next()
        .unwrap_or(part)
        .trim_end()
        .to_ascii_uppercase();
    matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit()
            && stem.as_bytes()[3] != b'0')
}

/// How a case-insensitive, normalising file system (Windows, macOS) sees a
/// path: NFC, case folded (upper then lower, so that ς and σ, ſ and s, ı
/// and i fold together), NFC again, without a folder's trailing slash.
fn as_a_disk_sees_it(name: &str) -> String {
    let nfc = ComposingNormalizerBorrowed::new_nfc();
    let name = nfc.normalize(name.strip_suffix('/').unwrap_or(name));
    nfc.normalize(&name.to_uppercase().to_lowercase())
        .into_owned()
}

/// Two entries that would land on one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub first: String,
    pub second: String,
    pub why: &'static str,
}

/// The names seen so far, to find two that would land on one file.
#[derive(Default)]
pub struct Seen {
    /// Every name as written, once.
    names: Vec<String>,
    /// Each path as a disk sees it: which name, and whether it is a folder.
    paths: HashMap<String, (usize, bool)>,
    /// Every folder some entry lies in, and which name first put it there.
    folders: HashMap<String, usize>,
}

impl Seen {
    /// Adds an entry (a folder if it ends with `/`); refuses it if a disk
    /// would take it for one already seen.
    pub fn add(&mut self, name: &str) -> Result<(), Clash> {
        let is_folder = name.ends_with('/');
        let key = as_a_disk_sees_it(name);
        let clash = |first: usize, why| Clash {
            first: self.names[first].clone(),
            second: name.to_string(),
            why,
        };
        if let Some(&(first, first_is_folder)) = self.paths.get(&key) {
            return match (is_folder, first_is_folder) {
                (true, true) => Ok(()),
                (false, false) if self.names[first] == name => {
                    Err(clash(first, "the same name twice"))
                }
                (false, false) => Err(clash(
                    first,
                    "names that differ only in case or in how accents are written",
                )),
                _ => Err(clash(first, "a file and a folder of the same name")),
            };
        }
        if !is_folder && let Some(&inside) = self.folders.get(&key) {
            return Err(clash(inside, "a file and a folder of the same name"));
        }
        // Every folder this entry lies in must not be a file already.
        let index = self.names.len();
        let mut folder = key.as_str();
        while let Some((parent, _)) = folder.rsplit_once('/') {
            if let Some(&(file, false)) = self.paths.get(parent) {
                return Err(clash(file, "a file and a folder of the same name"));
            }
            if self.folders.contains_key(parent) {
                break; // and so are its own parents
            }
            self.folders.insert(parent.to_string(), index);
            folder = parent;
        }
        self.names.push(name.to_string());
        self.paths.insert(key, (index, is_folder));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_found_by_their_properties() {
        for c in [
            '\u{061C}',
            '\u{2060}',
            '\u{00AD}',
            '\u{180E}',
            '\u{2062}',
            '\u{E0041}',
            '\u{034F}',
            '\u{FE0F}',
            '\u{3164}',
            '\u{200B}',
            '\u{202E}',
            '\u{FEFF}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
            let name = format!("report{c}.pdf");
            assert!(check(&name).is_err(), "U+{:04X} accepted", c as u32);
            assert!(shown(&name).contains(&format!("<U+{:04X}>", c as u32)));
        }
        for c in ['a', 'é', 'ß', '中', '-', '_', ' ', '🙂'] {
            assert!(!is_invisible(c), "{c}");
        }
    }

    #[test]
    fn names_that_a_disk_would_change_are_refused() {
        for bad in [
            "notes.",
            "notes ",
            "lab1 /a.py",
            "a\u{FF0F}b.txt",
            "a\u{2215}b.txt",
            "bad\u{FFFD}.txt",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        for reserved in [
            "aux.c",
            "NUL",
            "lab/com1.txt",
            "lpt9",
            "a<b",
            "what?.txt",
            "x*.py",
        ] {
            assert!(check(reserved).is_err(), "{reserved}");
        }
        for fine in ["auxiliary.c", "com10.txt", "console.log", "lpt0"] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
        assert!(check(&vec!["d"; MAX_DEPTH + 2].join("/")).is_err());
        assert!(check(&vec!["d"; MAX_DEPTH + 1].join("/")).is_ok());
        assert!(check(&"x".repeat(MAX_PART_BYTES)).is_ok());
        assert!(check(&"x".repeat(MAX_PART_BYTES + 1)).is_err());
        let deep = vec!["x".repeat(200); 6].join("/");
        assert!(check(&deep).unwrap_err().contains("longer than"));
        for good in [
            "report.pdf",
            "lab1/src/main.py",
            "résumé.pdf",
            "lab1/",
            ".gitignore",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn names_that_land_on_one_file_clash() {
        let clash = |names: &[&str]| {
            let mut seen = Seen::default();
            names.iter().map(|n| seen.add(n)).find_map(Result::err)
        };
        // Precomposed and decomposed é; case only; a file and a folder.
        let found = clash(&["r\u{e9}sum\u{e9}.pdf", "re\u{301}sume\u{301}.pdf"]).unwrap();
        assert_eq!(found.first, "r\u{e9}sum\u{e9}.pdf");
        assert!(clash(&["Report.pdf", "report.PDF"]).is_some());
        assert!(clash(&["lab1", "lab1/a.py"]).is_some());
        assert!(clash(&["lab1/a.py", "LAB1"]).is_some());
        assert!(clash(&["a.txt", "a.txt"]).is_some());
        // Case folding, not only lower case: final sigma, long s, dotless i.
        assert!(clash(&["\u{3c3}.txt", "\u{3c2}.txt"]).is_some());
        assert!(clash(&["mas.txt", "ma\u{17f}.txt"]).is_some());
        // Folders listed with their files are fine.
        assert_eq!(
            clash(&["lab1/", "lab1/a.py", "lab1/b.py", "lab2/a.py"]),
            None
        );
        assert_eq!(clash(&["lab1/a.py", "lab1/"]), None);
    }
}
