//! What is inside a bundle, and whether it may be accepted.
//!
//! Only the zip's central directory is read: nothing is decompressed, so a
//! zip bomb costs nothing to refuse, and the bundle is never read twice.

use std::io::{Read, Seek, SeekFrom};

use globset::{GlobBuilder, GlobMatcher};

use super::names;

/// At most this many bytes of file names in one bundle: the receipt and the
/// marker's history list them all.
pub const MAX_LISTING_BYTES: usize = 1024 * 1024;

/// Bounds on what a bundle may declare.
#[derive(Debug, Clone, Copy)]
pub struct BundleLimits {
    pub max_entries: usize,
    pub max_unpacked_bytes: u64,
}

impl Default for BundleLimits {
    fn default() -> Self {
        BundleLimits {
            max_entries: 10_000,
            max_unpacked_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// Why a bundle was refused, in words a student can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    NotAZip(String),
    Empty,
    TooManyEntries {
        count: usize,
        max: usize,
    },
    TooLargeUnpacked {
        max: u64,
    },
    UnsafeEntry {
        name: String,
        why: String,
    },
    /// Two entries that an unzip tool would write as one file.
    Clash(names::Clash),
    /// The names alone would fill a marker's page.
    ListingTooLarge {
        max: usize,
    },
    Encrypted {
        name: String,
    },
    /// Nothing but files an operating system adds (`__MACOSX/`, `.DS_Store`).
    OnlyClutter,
    /// Two entries share a name: unzip tools would disagree on which one is the file.
    DuplicateNames,
    MissingRequired {
        missing: Vec<Missing>,
        /// What the zip holds at its top level, so the student sees what
        /// they sent (at most [`SHOWN_TOP_LEVEL`]).
        top_level: Vec<String>,
    },
}

/// A required pattern no file matches, and a file that would have matched
/// but for capital letters, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub pattern: String,
    pub other_case: Option<String>,
}

/// How many top-level names a refusal lists.
pub const SHOWN_TOP_LEVEL: usize = 8;

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::NotAZip(why) => write!(
                f,
                "The file is not a readable zip archive ({why}). Please upload your work as one .zip file."
            ),
            BundleError::Empty => write!(f, "The zip archive is empty: it contains no files."),
            BundleError::OnlyClutter => write!(
                f,
                "The zip archive holds only files your computer adds by itself (such as __MACOSX or .DS_Store), none of your work."
            ),
            BundleError::TooManyEntries { count, max } => {
                write!(
                    f,
                    "The zip archive has {count} entries; at most {max} are allowed."
                )
            }
            BundleError::TooLargeUnpacked { max } => write!(
                f,
                "The zip archive would unpack to more than {} MiB; at most that is allowed.",
                max / (1024 * 1024)
            ),
            BundleError::UnsafeEntry { name, why } => {
                write!(
                    f,
                    "The entry \"{}\" is not allowed: {why}.",
                    names::shown(name)
                )
            }
            BundleError::Clash(clash) => write!(
                f,
                "The entries \"{}\" and \"{}\" would be one file when unzipped ({}). Please rename one.",
                names::shown(&clash.first),
                names::shown(&clash.second),
                clash.why
            ),
            BundleError::ListingTooLarge { max } => write!(
                f,
                "The names of the files in the zip archive add up to more than {} KiB; please leave out generated files.",
                max / 1024
            ),
            BundleError::Encrypted { name } => write!(
                f,
                "The entry \"{}\" is encrypted; markers could not open it. Please zip it without a password.",
                names::shown(name)
            ),
            BundleError::DuplicateNames => {
                write!(
                    f,
                    "The zip archive contains the same file name more than once."
                )
            }
            BundleError::MissingRequired { missing, top_level } => {
                let named: Vec<String> = missing
                    .iter()
                    .map(|m| match &m.other_case {
                        Some(found) => format!(
                            "{} (found \"{}\", which differs only in capital letters: names must match exactly)",
                            m.pattern,
                            names::shown(found)
                        ),
                        None => m.pattern.clone(),
                    })
                    .collect();
                let examples: Vec<String> =
                    missing.iter().map(|m| example_path(&m.pattern)).collect();
                write!(
                    f,
                    "Required file{} missing: {}. Nothing was stored; please add {} and upload again \
                     (for example: {}).",
                    if missing.len() == 1 { " is" } else { "s are" },
                    named.join(", "),
                    if missing.len() == 1 { "it" } else { "them" },
                    examples.join(", ")
                )?;
                if !top_level.is_empty() {
                    let shown: Vec<String> = top_level.iter().map(|n| names::shown(n)).collect();
                    write!(f, " The zip holds: {}.", shown.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for BundleError {}

/// An entry's name as handin reads it: UTF-8 (anything else shows as
/// U+FFFD and is refused), with `\` taken as a folder separator, as
/// Info-ZIP's unzip and Windows take it (PowerShell 5.1's Compress-Archive
/// writes `lab1\ex1.ipynb`). Every safety rule then applies to the result.
pub fn entry_name(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace('\\', "/")
}

/// Files an operating system or an editor adds by itself: kept in the
/// stored bundle, but left out of the file lists markers read, and never
/// taken for a required file.
pub fn is_clutter(path: &str) -> bool {
    path.split('/').any(|part| {
        matches!(
            part,
            "__MACOSX" | ".DS_Store" | "Thumbs.db" | "desktop.ini" | ".ipynb_checkpoints"
        )
    })
}

/// One file inside an accepted bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub path: String,
    pub size: u64,
}

/// A path that `pattern` matches, to show as an example of what is wanted:
/// `lab*/**/*.ipynb` gives `lab1/work.ipynb`. `**` stands for no folder,
/// `*` for `1` after a letter or digit and `work` elsewhere, `?` for `1`, a
/// set (`[abc]`) for its first member, a choice (`{a,b}`) for its first.
pub fn example_path(pattern: &str) -> String {
    let parts: Vec<String> = pattern
        .split('/')
        .filter(|part| *part != "**" && !part.is_empty())
        .map(example_part)
        .collect();
    parts.join("/")
}

/// Whether `c` is in a glob set's members (`a-z0-9_`, ranges included).
fn in_set(c: char, members: &str) -> bool {
    let members: Vec<char> = members.chars().collect();
    let mut i = 0;
    while i < members.len() {
        if i + 2 < members.len() && members[i + 1] == '-' {
            if (members[i]..=members[i + 2]).contains(&c) {
                return true;
            }
            i += 3;
        } else {
            if members[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

fn example_part(part: &str) -> String {
    let mut out = String::new();
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                let after_word = out.chars().last().is_some_and(char::is_alphanumeric);
                out.push_str(if after_word { "1" } else { "work" });
            }
            '?' => out.push('1'),
            '\\' => out.extend(chars.next()),
            '[' => {
                let set: String = chars.by_ref().take_while(|&c| c != ']').collect();
                match set.strip_prefix(['!', '^']) {
                    // A set that excludes: a letter or digit it does not name.
                    Some(excluded) => {
                        out.extend(('a'..='z').chain('0'..='9').find(|c| !in_set(*c, excluded)))
                    }
                    None => out.extend(set.chars().next()),
                }
            }
            '{' => {
                let choices: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.push_str(choices.split(',').next().unwrap_or_default());
            }
            other => out.push(other),
        }
    }
    out
}

/// A required-file pattern such as `report.pdf` or `lab*/**/*.ipynb`.
///
/// `*` stays within one folder, `**` spans folders; matching is
/// case-sensitive, as the brief writes it.
pub fn compile_pattern(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|glob| glob.compile_matcher())
        .map_err(|e| format!("'{pattern}' is not a valid file pattern: {e}"))
}

/// Inspects a zip's central directory and returns its files, or why it is refused.
pub fn inspect<R: Read + Seek>(
    mut reader: R,
    limits: BundleLimits,
    required: &[String],
) -> Result<Vec<Entry>, BundleError> {
    // Count the entries from the end records before the zip crate parses the
    // whole central directory: that parse costs memory for every entry.
    let declared = declared_entries(&mut reader)
        .ok_or_else(|| BundleError::NotAZip("it has no end record where a zip keeps it".into()))?;
    if declared > limits.max_entries as u64 {
        return Err(BundleError::TooManyEntries {
            count: usize::try_from(declared).unwrap_or(usize::MAX),
            max: limits.max_entries,
        });
    }
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|_| BundleError::NotAZip("it is unreadable".into()))?;
    let mut archive = zip::ZipArchive::new(reader).map_err(not_a_zip)?;
    if archive.len() > limits.max_entries {
        return Err(BundleError::TooManyEntries {
            count: archive.len(),
            max: limits.max_entries,
        });
    }
    if archive.has_duplicate_names() {
        return Err(BundleError::DuplicateNames);
    }
    // Local headers must say what the central directory says: a streaming
    // unzipper reads the local names, so a mismatch could smuggle a path.
    archive.validate_header_consistency().map_err(|_| {
        BundleError::NotAZip(
            "its entries' headers disagree with its directory, a sign of tampering".into(),
        )
    })?;
    let mut entries = Vec::with_capacity(archive.len());
    let mut unpacked: u64 = 0;
    let mut listing: usize = 0;
    let mut seen = names::Seen::default();
    let mut clutter = 0usize;
    for index in 0..archive.len() {
        let file = archive.by_index_raw(index).map_err(not_a_zip)?;
        // Names are kept as the bytes say, if they are UTF-8: a marker's
        // unzip tool must show the name the student typed.
        let name = entry_name(file.name_raw());
        let refuse = |why: String| BundleError::UnsafeEntry {
            name: name.clone(),
            why,
        };
        names::check(&name).map_err(refuse)?;
        listing += name.len();
        if listing > MAX_LISTING_BYTES {
            return Err(BundleError::ListingTooLarge {
                max: MAX_LISTING_BYTES,
            });
        }
        seen.add(&name).map_err(BundleError::Clash)?;
        if file.is_symlink() {
            return Err(refuse("it is a symbolic link".into()));
        }
        if file.encrypted() {
            return Err(BundleError::Encrypted { name });
        }
        unpacked = unpacked.saturating_add(file.size());
        if unpacked > limits.max_unpacked_bytes {
            return Err(BundleError::TooLargeUnpacked {
                max: limits.max_unpacked_bytes,
            });
        }
        if !file.is_dir() {
            if is_clutter(&name) {
                clutter += 1;
            } else {
                entries.push(Entry {
                    path: name,
                    size: file.size(),
                });
            }
        }
    }
    if entries.is_empty() {
        return Err(if clutter > 0 {
            BundleError::OnlyClutter
        } else {
            BundleError::Empty
        });
    }
    let missing = missing_required(&entries, required);
    if !missing.is_empty() {
        return Err(BundleError::MissingRequired {
            missing,
            top_level: top_level(&entries),
        });
    }
    Ok(entries)
}

/// The most entries that any end record in the zip's tail declares (ZIP64
/// included), or `None` if the tail holds no plausible end record.
///
/// The zip crate looks for the end record itself, skipping records it finds
/// implausible and allowing junk before the archive, then parses every entry
/// the record it chose declares. Trusting only the last record here would let
/// a fake one (count 1) stand in front of the real one, or junk before the
/// archive hide the ZIP64 record: so every plausible record counts, and the
/// largest declaration decides.
fn declared_entries<R: Read + Seek>(reader: &mut R) -> Option<u64> {
    const END: u32 = 0x0605_4b50;
    const LOCATOR: u32 = 0x0706_4b50;
    const END_LEN: usize = 22;
    const END64_LEN: usize = 56;
    let length = reader.seek(SeekFrom::End(0)).ok()?;
    // The end record is 22 bytes plus a comment of at most 65,535, after a
    // ZIP64 record and its locator.
    let tail_length = length.min((END_LEN + 65_535 + 20 + END64_LEN) as u64);
    let tail_start = length - tail_length;
    reader.seek(SeekFrom::Start(tail_start)).ok()?;
    let mut tail = vec![0u8; tail_length as usize];
    reader.read_exact(&mut tail).ok()?;
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let mut most: Option<u64> = None;
    for end in (0..tail.len().checked_sub(END_LEN - 1)?).filter(|&i| u32_at(&tail, i) == END) {
        let at = tail_start + end as u64;
        let comment = u16_at(&tail, end + 20);
        let (directory_size, directory_at) = (u32_at(&tail, end + 12), u32_at(&tail, end + 16));
        let zip64 = u16_at(&tail, end + 10) == 0xFFFF
            || directory_size == u32::MAX
            || directory_at == u32::MAX;
        // A record whose comment runs past the file, or whose directory does
        // not come before it, is one the zip crate would not use either.
        let fits = at + END_LEN as u64 + comment <= length;
        let directory_before = zip64 || u64::from(directory_at) + u64::from(directory_size) <= at;
        if !fits || !directory_before {
            continue;
        }
        // 0xFFFF is the ZIP64 marker, not a count.
        let mut count = [u16_at(&tail, end + 8), u16_at(&tail, end + 10)]
            .into_iter()
            .filter(|&c| c != 0xFFFF)
            .max()
            .unwrap_or(0);
        if zip64 {
            let locator = end
                .checked_sub(20)
                .filter(|&l| u32_at(&tail, l) == LOCATOR)?;
            // Where the locator says, and, as the zip crate also looks,
            // every ZIP64 record between there and the locator that ends
            // exactly at the locator (junk before the archive moves it).
            let declared = u64_at(&tail, locator + 8);
            let locator_at = tail_start + locator as u64;
            let mut places = vec![declared];
            places.extend(zip64_records_ending_at(
                reader,
                declared.min(locator_at),
                locator_at,
            ));
            let found = places
                .into_iter()
                .filter_map(|place| zip64_count(reader, place))
                .max();
            // A ZIP64 marker without a readable ZIP64 record: refuse rather
            // than let the parser go looking.
            count = count.max(found?);
        }
        most = Some(most.map_or(count, |m| m.max(count)));
    }
    most
}

/// The signature of a ZIP64 end record.
const END64: [u8; 4] = *b"PK\x06\x06";

/// The count a ZIP64 end record at `offset` (in the file) declares, if one is there.
fn zip64_count<R: Read + Seek>(reader: &mut R, offset: u64) -> Option<u64> {
    let mut record = [0u8; 40];
    reader.seek(SeekFrom::Start(offset)).ok()?;
    reader.read_exact(&mut record).ok()?;
    let count = |i: usize| u64::from_le_bytes(record[i..i + 8].try_into().unwrap_or([0; 8]));
    (record[..4] == END64).then(|| count(24).max(count(32)))
}

/// Where ZIP64 end records start in `[start, end)` whose declared size makes
/// them end exactly at `end` (where their locator is). Read once, in pieces.
fn zip64_records_ending_at<R: Read + Seek>(reader: &mut R, start: u64, end: u64) -> Vec<u64> {
    // A record's signature and size take 12 bytes: the last 11 of each piece
    // are looked at again with the next.
    const KEEP: usize = 11;
    let mut found = Vec::new();
    if reader.seek(SeekFrom::Start(start)).is_err() {
        return found;
    }
    let mut window: Vec<u8> = Vec::with_capacity(KEEP + (1 << 20));
    let mut piece = vec![0u8; 1 << 20];
    let mut window_at = start;
    let mut at = start;
    while at < end {
        let want = usize::try_from((end - at).min(piece.len() as u64)).unwrap_or(piece.len());
        if reader.read_exact(&mut piece[..want]).is_err() {
            break;
        }
        window.extend_from_slice(&piece[..want]);
        at += want as u64;
        for i in 0..window.len().saturating_sub(KEEP) {
            if window[i..i + 4] == END64 {
                let size =
                    u64::from_le_bytes(window[i + 4..i + 12].try_into().unwrap_or([0xFF; 8]));
                let record_end = (window_at + i as u64 + 12).checked_add(size);
                if record_end == Some(end) {
                    found.push(window_at + i as u64);
                }
            }
        }
        let keep_from = window.len().saturating_sub(KEEP);
        window_at += keep_from as u64;
        window.drain(..keep_from);
    }
    found
}

/// The one folder every file lies in, if there is one: a student who
/// zipped the folder that holds their work (right-click, Compress) sent
/// `comp6248-labs/lab1/ex1.ipynb` for `lab1/ex1.ipynb`.
pub fn enclosing_folder(entries: &[Entry]) -> Option<&str> {
    let (top, _) = entries.first()?.path.split_once('/')?;
    entries
        .iter()
        .all(|e| {
            e.path
                .split_once('/')
                .is_some_and(|(first, _)| first == top)
        })
        .then_some(top)
}

/// A required pattern, compiled once: a glob, or (if it cannot compile)
/// a name to match literally.
enum Wanted {
    Glob(GlobMatcher),
    Literal(String),
}

impl Wanted {
    fn new(pattern: &str) -> Wanted {
        compile_pattern(pattern)
            .map(Wanted::Glob)
            .unwrap_or_else(|_| Wanted::Literal(pattern.to_string()))
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            Wanted::Glob(matcher) => matcher.is_match(path),
            Wanted::Literal(name) => path == name,
        }
    }

    /// Whether it matches a file as it is, or inside the enclosing folder.
    fn found_in(&self, entries: &[Entry], inside: Option<&str>) -> bool {
        entries.iter().any(|e| {
            self.is_match(&e.path)
                || inside
                    .and_then(|folder| e.path.strip_prefix(folder))
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|rest| self.is_match(rest))
        })
    }
}

/// The required patterns that no file in `entries` matches (as it is, or
/// inside the one folder they all lie in), each with a file that would have
/// matched but for capital letters. Each pattern is compiled once.
pub fn missing_required(entries: &[Entry], required: &[String]) -> Vec<Missing> {
    let inside = enclosing_folder(entries);
    let missing: Vec<&String> = required
        .iter()
        .filter(|pattern| !Wanted::new(pattern).found_in(entries, inside))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    // The same files in lower case, to name one that differs only in capitals.
    let lowered: Vec<Entry> = entries
        .iter()
        .map(|e| Entry {
            path: e.path.to_lowercase(),
            size: e.size,
        })
        .collect();
    let inside_lowered = enclosing_folder(&lowered);
    missing
        .into_iter()
        .map(|pattern| {
            let wanted = Wanted::new(&pattern.to_lowercase());
            let other_case = lowered
                .iter()
                .position(|e| wanted.found_in(std::slice::from_ref(e), inside_lowered))
                .map(|i| entries[i].path.clone());
            Missing {
                pattern: pattern.clone(),
                other_case,
            }
        })
        .collect()
}

/// Whether the required files were found only inside the enclosing folder
/// (for the receipt to say so): that folder, or `None`.
pub fn matched_inside<'e>(entries: &'e [Entry], required: &[String]) -> Option<&'e str> {
    let inside = enclosing_folder(entries)?;
    required
        .iter()
        .map(|pattern| Wanted::new(pattern))
        .any(|wanted| !wanted.found_in(entries, None) && wanted.found_in(entries, Some(inside)))
        .then_some(inside)
}

/// The distinct names at the zip's top level, in order, at most
/// [`SHOWN_TOP_LEVEL`] (a folder with a trailing `/`).
fn top_level(entries: &[Entry]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for entry in entries {
        let name = match entry.path.split_once('/') {
            Some((folder, _)) => format!("{folder}/"),
            None => entry.path.clone(),
        };
        if !names.contains(&name) {
            if names.len() == SHOWN_TOP_LEVEL {
                names.push("…".to_string());
                break;
            }
            names.push(name);
        }
    }
    names
}

/// The zip crate's errors, cut down to what a student needs to hear.
fn not_a_zip(error: zip::result::ZipError) -> BundleError {
    use zip::result::ZipError;
    BundleError::NotAZip(match error {
        ZipError::Io(_) => "it is truncated or unreadable".to_string(),
        ZipError::InvalidArchive(_) => "it is damaged or not a zip file".to_string(),
        ZipError::UnsupportedArchive(what) => format!("it uses an unsupported feature: {what}"),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in files {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .unwrap();
            writer.write_all(body).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn check(bytes: Vec<u8>, required: &[&str]) -> Result<Vec<Entry>, BundleError> {
        let required: Vec<String> = required.iter().map(|s| s.to_string()).collect();
        inspect(Cursor::new(bytes), BundleLimits::default(), &required)
    }

    #[test]
    fn a_good_bundle_lists_its_files() {
        let entries = check(
            zip_of(&[("report.pdf", b"%PDF"), ("lab1/src/a.ipynb", b"{}")]),
            &["report.pdf", "lab*/**/*.ipynb"],
        )
        .unwrap();
        assert_eq!(
            entries,
            vec![
                Entry {
                    path: "report.pdf".into(),
                    size: 4
                },
                Entry {
                    path: "lab1/src/a.ipynb".into(),
                    size: 2
                }
            ]
        );
    }

    #[test]
    fn a_missing_required_file_is_named() {
        let err = check(
            zip_of(&[("lab1/a.ipynb", b"{}")]),
            &["report.pdf", "lab*/**/*.ipynb"],
        )
        .unwrap_err();
        assert_eq!(
            err,
            BundleError::MissingRequired {
                missing: vec![Missing {
                    pattern: "report.pdf".into(),
                    other_case: None
                }],
                top_level: vec!["lab1/".into()],
            }
        );
        assert!(err.to_string().contains("report.pdf"));
        assert!(err.to_string().contains("The zip holds: lab1/."));
    }

    #[test]
    fn an_example_path_matches_its_pattern() {
        for (pattern, example) in [
            ("report.pdf", "report.pdf"),
            ("lab*/**/*.ipynb", "lab1/work.ipynb"),
            ("src/*.py", "src/work.py"),
            ("ex?.[ch]", "ex1.c"),
            ("{report,essay}.pdf", "report.pdf"),
            ("[!_]*.txt", "a1.txt"),
            ("[!a-z]*", "01"),
        ] {
            assert_eq!(example_path(pattern), example, "{pattern}");
            let matcher = compile_pattern(pattern).unwrap();
            assert!(
                matcher.is_match(example),
                "{pattern} does not match {example}"
            );
        }
    }

    #[test]
    fn a_zipped_parent_folder_is_looked_into() {
        // Right-click the course folder, Compress: everything sits one folder down.
        let entries = check(
            zip_of(&[
                ("comp6248-labs/lab1/ex1.ipynb", b"{}"),
                ("comp6248-labs/report.pdf", b"%PDF"),
            ]),
            &["report.pdf", "lab*/**/*.ipynb"],
        )
        .unwrap();
        // The bundle's own names are kept, and the receipt can say where
        // the required files were found.
        assert_eq!(entries[0].path, "comp6248-labs/lab1/ex1.ipynb");
        assert_eq!(
            matched_inside(&entries, &["report.pdf".to_string()]),
            Some("comp6248-labs")
        );
        // Two folders at the top: no one folder to look into.
        let err = check(
            zip_of(&[("a/lab1/ex1.ipynb", b"{}"), ("b/x", b"x")]),
            &["lab*/**/*.ipynb"],
        )
        .unwrap_err();
        assert!(err.to_string().contains("The zip holds: a/, b/."), "{err}");
    }

    #[test]
    fn a_name_that_differs_only_in_capitals_is_named_in_the_refusal() {
        let err = check(zip_of(&[("Lab1/ex1.ipynb", b"{}")]), &["lab*/**/*.ipynb"]).unwrap_err();
        let said = err.to_string();
        assert!(
            said.contains("found \"Lab1/ex1.ipynb\", which differs only in capital letters"),
            "{said}"
        );
        let err = check(zip_of(&[("work/Report.PDF", b"%PDF")]), &["report.pdf"]).unwrap_err();
        assert!(
            err.to_string().contains("found \"work/Report.PDF\""),
            "{err}"
        );
    }

    #[test]
    fn backslashes_are_folder_separators_and_every_rule_still_applies() {
        let entries = check(
            zip_of(&[("lab1\\ex1.ipynb", b"{}"), ("report.pdf", b"%PDF")]),
            &["lab*/**/*.ipynb"],
        )
        .unwrap();
        assert_eq!(entries[0].path, "lab1/ex1.ipynb");
        for (name, why) in [
            ("a\\..\\..\\evil", "climbs out"),
            ("\\\\server\\share\\x", "absolute"),
            ("C:\\x.txt", "drive letter"),
        ] {
            let err = check(zip_of(&[(name, b"x")]), &[]).unwrap_err();
            assert!(err.to_string().contains(why), "{name}: {err}");
        }
        // Two spellings of one path are one file.
        let err = check(zip_of(&[("a\\b.txt", b"1"), ("a/b.txt", b"2")]), &[]).unwrap_err();
        assert!(matches!(err, BundleError::Clash(_)), "{err:?}");
    }

    #[test]
    fn clutter_is_kept_out_of_the_list_and_never_counts_as_required() {
        let entries = check(
            zip_of(&[
                ("__MACOSX/._report.pdf", b"fork"),
                ("report.pdf", b"%PDF"),
                (".DS_Store", b"x"),
                ("lab1/.ipynb_checkpoints/ex1-checkpoint.ipynb", b"{}"),
            ]),
            &["report.pdf"],
        )
        .unwrap();
        assert_eq!(entries.len(), 1);
        let err = check(
            zip_of(&[
                ("report.pdf", b"%PDF"),
                ("lab1/.ipynb_checkpoints/ex1-checkpoint.ipynb", b"{}"),
            ]),
            &["lab*/**/*.ipynb"],
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::MissingRequired { .. }));
        let err = check(zip_of(&[(".DS_Store", b"x")]), &[]).unwrap_err();
        assert_eq!(err, BundleError::OnlyClutter);
    }

    #[test]
    fn a_star_does_not_cross_folders() {
        let err = check(
            zip_of(&[("sub/report.pdf", b"x"), ("notes.txt", b"x")]),
            &["*.pdf"],
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::MissingRequired { .. }));
    }

    #[test]
    fn unsafe_names_are_refused_with_the_name() {
        for name in [
            "../evil.txt",
            "a/../../evil",
            "/etc/passwd",
            "C:/win.ini",
            "c:evil",
            "a//b",
            "./a",
            "bell\u{7}.txt",
            "report\u{202E}fdp.exe",
        ] {
            let err = check(zip_of(&[(name, b"x")]), &[]).unwrap_err();
            assert!(
                matches!(err, BundleError::UnsafeEntry { .. }),
                "{name} gave {err:?}"
            );
            assert!(err.to_string().contains("is not allowed"), "{name}");
        }
    }

    #[test]
    fn names_that_would_be_one_file_are_refused_naming_both() {
        let err = check(
            zip_of(&[
                ("Report.pdf", b"1"),
                ("lab/x.py", b"2"),
                ("report.pdf", b"3"),
            ]),
            &[],
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::Clash(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("\"Report.pdf\" and \"report.pdf\""), "{text}");
        let err = check(zip_of(&[("lab", b"1"), ("lab/x.py", b"2")]), &[]).unwrap_err();
        assert!(err.to_string().contains("a file and a folder"), "{err}");
        let err = check(zip_of(&[("a\u{2060}b.txt", b"1")]), &[]).unwrap_err();
        assert!(err.to_string().contains("a<U+2060>b.txt"), "{err}");
    }

    #[test]
    fn the_names_together_are_bounded() {
        let files: Vec<(String, Vec<u8>)> = (0..5000)
            .map(|i| (format!("{i:05}-{}", "n".repeat(240)), vec![]))
            .collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        assert_eq!(
            check(zip_of(&refs), &[]),
            Err(BundleError::ListingTooLarge {
                max: MAX_LISTING_BYTES
            })
        );
    }

    #[test]
    fn symlinks_are_refused() {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .add_symlink("link", "/etc/passwd", SimpleFileOptions::default())
            .unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        assert_eq!(
            check(bytes, &[]).unwrap_err(),
            BundleError::UnsafeEntry {
                name: "link".into(),
                why: "it is a symbolic link".into()
            }
        );
    }

    #[test]
    fn not_a_zip_truncated_and_empty_are_refused() {
        assert!(matches!(
            check(b"hello, world".to_vec(), &[]),
            Err(BundleError::NotAZip(_))
        ));
        assert!(matches!(
            check(Vec::new(), &[]),
            Err(BundleError::NotAZip(_))
        ));
        let whole = zip_of(&[("a.txt", b"some content here")]);
        assert!(matches!(
            check(whole[..whole.len() / 2].to_vec(), &[]),
            Err(BundleError::NotAZip(_))
        ));
        assert_eq!(check(zip_of(&[]), &[]), Err(BundleError::Empty));
    }

    #[test]
    fn entry_count_and_declared_size_are_bounded() {
        let files: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let limits = BundleLimits {
            max_entries: 10,
            max_unpacked_bytes: 1 << 30,
        };
        assert_eq!(
            inspect(Cursor::new(zip_of(&refs)), limits, &[]),
            Err(BundleError::TooManyEntries { count: 20, max: 10 })
        );
        // A bomb: a megabyte of zeros compresses to a kilobyte but declares its size.
        let bomb = zip_of(&[("zeros", &vec![0u8; 1 << 20])]);
        assert!(bomb.len() < 10_000);
        let limits = BundleLimits {
            max_entries: 10,
            max_unpacked_bytes: 1 << 19,
        };
        assert_eq!(
            inspect(Cursor::new(bomb), limits, &[]),
            Err(BundleError::TooLargeUnpacked { max: 1 << 19 })
        );
    }

    #[test]
    fn the_entry_count_is_read_from_the_end_record_before_parsing() {
        let files: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("f{i}"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let bytes = zip_of(&refs);
        assert_eq!(declared_entries(&mut Cursor::new(bytes.clone())), Some(30));
        assert_eq!(
            declared_entries(&mut Cursor::new(b"not a zip".to_vec())),
            None
        );
        // A ZIP64 archive keeps the count in its ZIP64 end record.
        let zip64 = zip64_of(3);
        assert_eq!(declared_entries(&mut Cursor::new(zip64.clone())), Some(3));
        assert_eq!(zip::ZipArchive::new(Cursor::new(zip64)).unwrap().len(), 3);
    }

    /// A zip of `count` empty files whose end record defers to a ZIP64 end
    /// record, as archives of more than 65,535 entries must.
    fn zip64_of(count: usize) -> Vec<u8> {
        let files: Vec<(String, Vec<u8>)> = (0..count).map(|i| (format!("f{i}"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let mut bytes = zip_of(&refs);
        let end = bytes.len() - 22;
        let size = u32::from_le_bytes(bytes[end + 12..end + 16].try_into().unwrap());
        let offset = u32::from_le_bytes(bytes[end + 16..end + 20].try_into().unwrap());
        bytes.truncate(end);
        let record_at = bytes.len() as u64;
        bytes.extend(0x0606_4b50u32.to_le_bytes());
        bytes.extend(44u64.to_le_bytes());
        bytes.extend([45, 0, 45, 0]);
        bytes.extend([0u8; 8]);
        bytes.extend((count as u64).to_le_bytes());
        bytes.extend((count as u64).to_le_bytes());
        bytes.extend(u64::from(size).to_le_bytes());
        bytes.extend(u64::from(offset).to_le_bytes());
        bytes.extend(0x0706_4b50u32.to_le_bytes());
        bytes.extend([0u8; 4]);
        bytes.extend(record_at.to_le_bytes());
        bytes.extend(1u32.to_le_bytes());
        bytes.extend(0x0605_4b50u32.to_le_bytes());
        bytes.extend([0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        bytes.extend(size.to_le_bytes());
        bytes.extend(offset.to_le_bytes());
        bytes.extend([0, 0]);
        bytes
    }

    #[test]
    fn junk_before_a_zip64_archive_does_not_hide_its_count() {
        let mut bytes = vec![b'J'];
        bytes.extend(zip64_of(30));
        assert_eq!(declared_entries(&mut Cursor::new(bytes.clone())), Some(30));
        // And the zip crate reads past the junk: the count is what it would parse.
        assert_eq!(zip::ZipArchive::new(Cursor::new(bytes)).unwrap().len(), 30);
    }

    #[test]
    fn a_fake_end_record_after_the_real_one_does_not_hide_its_count() {
        let files: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("f{i}"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let mut bytes = zip_of(&refs);
        // count 1, directory of 0 bytes at 0, and a comment that runs past the end
        let mut fake = vec![0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0];
        fake.extend([0u8; 8]);
        fake.extend([0xFF, 0xFF]);
        bytes.extend(&fake);
        assert_eq!(declared_entries(&mut Cursor::new(bytes.clone())), Some(30));
        let limits = BundleLimits {
            max_entries: 10,
            max_unpacked_bytes: 1 << 30,
        };
        assert_eq!(
            inspect(Cursor::new(bytes), limits, &[]),
            Err(BundleError::TooManyEntries { count: 30, max: 10 })
        );
    }

    #[test]
    fn a_decoy_zip64_record_does_not_hide_the_real_one() {
        // The real ZIP64 record (30 entries) carries 56 bytes of "extensible
        // data" holding a decoy record (1 entry) that also ends at the
        // locator, and the locator points at neither.
        let bytes = zip64_of(30);
        let locator = bytes.len() - 22 - 20;
        let real =
            u64::from_le_bytes(bytes[locator + 8..locator + 16].try_into().unwrap()) as usize;
        let mut record = bytes[real..locator].to_vec();
        let size = u64::from_le_bytes(record[4..12].try_into().unwrap()) + 56;
        record[4..12].copy_from_slice(&size.to_le_bytes());
        let mut decoy = bytes[real..locator].to_vec();
        decoy[24..40].copy_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut forged = bytes[..real].to_vec();
        forged.extend(&record);
        forged.extend(&decoy);
        let mut locator_bytes = bytes[locator..locator + 20].to_vec();
        locator_bytes[8..16].copy_from_slice(&((real - 1) as u64).to_le_bytes());
        forged.extend(&locator_bytes);
        forged.extend(&bytes[locator + 20..]);
        assert_eq!(declared_entries(&mut Cursor::new(forged)), Some(30));
    }

    #[test]
    fn a_zip64_marker_without_its_record_is_refused_before_parsing() {
        let mut bytes = zip64_of(3);
        // Break the ZIP64 end record's signature, where the locator points.
        let locator = bytes.len() - 22 - 20;
        let record = u64::from_le_bytes(bytes[locator + 8..locator + 16].try_into().unwrap());
        let record = record as usize;
        assert_eq!(&bytes[record..record + 4], &[0x50, 0x4b, 0x06, 0x06]);
        bytes[record] = b'X';
        assert_eq!(declared_entries(&mut Cursor::new(bytes.clone())), None);
        assert!(matches!(check(bytes, &[]), Err(BundleError::NotAZip(_))));
    }

    #[test]
    fn zips_made_by_common_tools_are_accepted() {
        // Info-ZIP to a file, Info-ZIP to a pipe (data descriptors), Python's zipfile.
        for (tool, bytes) in [
            (
                "zip -r",
                include_bytes!("../../tests/fixtures/infozip.zip").to_vec(),
            ),
            (
                "zip -r - | cat",
                include_bytes!("../../tests/fixtures/infozip-streamed.zip").to_vec(),
            ),
            (
                "python zipfile",
                include_bytes!("../../tests/fixtures/python-zipfile.zip").to_vec(),
            ),
        ] {
            let entries = check(bytes, &["report.pdf", "lab*/**/*.ipynb"]);
            assert!(entries.is_ok(), "{tool}: {entries:?}");
        }
    }

    #[test]
    fn a_local_header_that_disagrees_with_the_directory_is_refused() {
        // The local header says "../evil", the central directory "./good".
        let mut bytes = zip_of(&[("abcdefg", b"x")]);
        let local = bytes
            .windows(4)
            .position(|w| w == [0x50, 0x4b, 0x03, 0x04])
            .unwrap();
        bytes[local + 30..local + 37].copy_from_slice(b"../evil");
        assert!(
            matches!(check(bytes, &[]), Err(BundleError::NotAZip(why)) if why.contains("tampering"))
        );
    }

    #[test]
    fn duplicate_names_are_refused() {
        // The zip writer refuses duplicates itself, so patch a second name in place.
        let mut bytes = zip_of(&[("a.txt", b"1"), ("b.txt", b"2")]);
        let positions: Vec<usize> = bytes
            .windows(5)
            .enumerate()
            .filter(|(_, w)| w == b"b.txt")
            .map(|(i, _)| i)
            .collect();
        for i in positions {
            bytes[i] = b'a';
        }
        assert_eq!(check(bytes, &[]), Err(BundleError::DuplicateNames));
    }

    /// Sets the "encrypted" flag of every entry, as a password-protected zip has.
    pub(crate) fn mark_encrypted(bytes: &mut [u8]) {
        for i in 0..bytes.len().saturating_sub(10) {
            match &bytes[i..i + 4] {
                [0x50, 0x4b, 0x03, 0x04] => bytes[i + 6] |= 1,
                [0x50, 0x4b, 0x01, 0x02] => bytes[i + 8] |= 1,
                _ => {}
            }
        }
    }

    #[test]
    fn encrypted_entries_are_refused() {
        let mut bytes = zip_of(&[("secret.txt", b"x")]);
        mark_encrypted(&mut bytes);
        assert_eq!(
            check(bytes, &[]),
            Err(BundleError::Encrypted {
                name: "secret.txt".into()
            })
        );
    }

    /// An independent statement of "safe", to check the inspector against.
    fn plainly_safe(name: &str) -> bool {
        !name.is_empty()
            && !name.starts_with('/')
            && !name.contains('\\')
            && !name.contains(':')
            && !name.chars().any(char::is_control)
            && name
                .trim_end_matches('/')
                .split('/')
                .all(|part| !matches!(part, "" | "." | ".."))
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            #[test]
            fn random_bytes_never_panic_and_are_never_accepted(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                prop_assert!(check(bytes, &[]).is_err());
            }

            #[test]
            fn mutated_zips_never_panic_and_never_let_an_unsafe_name_through(
                names in proptest::collection::vec("[a-z./\\\\:]{1,12}", 1..5),
                flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
            ) {
                let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), b"x".as_slice())).collect();
                let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
                for (name, body) in &files {
                    // The writer itself refuses some names; those cases prove nothing.
                    if writer.start_file(*name, SimpleFileOptions::default()).is_err() {
                        return Ok(());
                    }
                    writer.write_all(body).unwrap();
                }
                let mut bytes = writer.finish().unwrap().into_inner();
                for (index, value) in flips {
                    let i = index.index(bytes.len());
                    bytes[i] ^= value;
                }
                if let Ok(entries) = check(bytes, &[]) {
                    for entry in entries {
                        prop_assert!(plainly_safe(&entry.path), "accepted {:?}", entry.path);
                    }
                }
            }
        }
    }
}
