//! What a marker sees of a file inside a bundle without downloading it:
//! text and code as text, a notebook as its cells (outputs summarised).
//! Nothing from a bundle is ever served as HTML: a page shows it escaped.

use serde::Serialize;

/// At most this much of a file is read for a preview.
pub const PREVIEW_BYTES: u64 = 256 * 1024;
/// A notebook larger than this is listed, not shown.
pub const NOTEBOOK_BYTES: u64 = 4 * 1024 * 1024;
/// Of each notebook output's text, at most this many characters are shown.
const OUTPUT_CHARS: usize = 2_000;
/// Of each cell's source, at most this many characters are shown.
const SOURCE_CHARS: usize = 20_000;
/// At most this many cells, and outputs per cell, are shown.
const CELLS: usize = 1_000;
const OUTPUTS: usize = 20;

/// How a file can be previewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    Notebook,
    /// Not shown: download the bundle.
    Other,
}

/// Files read as text, by extension (lower case); and names without one
/// that are text by custom.
const TEXT: &[&str] = &[
    "txt",
    "md",
    "rst",
    "csv",
    "tsv",
    "json",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "xml",
    "html",
    "htm",
    "css",
    "js",
    "ts",
    "py",
    "r",
    "m",
    "jl",
    "rs",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "java",
    "kt",
    "scala",
    "go",
    "rb",
    "php",
    "pl",
    "sh",
    "bash",
    "zsh",
    "bat",
    "ps1",
    "sql",
    "tex",
    "bib",
    "hs",
    "ml",
    "lisp",
    "scm",
    "swift",
    "cs",
    "fs",
    "vhd",
    "v",
    "sv",
    "asm",
    "s",
    "lua",
    "dart",
    "gradle",
    "properties",
    "log",
];
const TEXT_NAMES: &[&str] = &[
    "Makefile",
    "Dockerfile",
    "README",
    "LICENSE",
    "CMakeLists.txt",
];

pub fn kind_of(path: &str) -> Kind {
    let name = path.rsplit('/').next().unwrap_or(path);
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if extension == "ipynb" {
        Kind::Notebook
    } else if TEXT.contains(&extension.as_str()) || TEXT_NAMES.contains(&name) {
        Kind::Text
    } else {
        Kind::Other
    }
}

/// Bytes as text to show: UTF-8 (anything else replaced), and whether it
/// was cut at [`PREVIEW_BYTES`].
pub fn text(bytes: &[u8], size: u64) -> (String, bool) {
    (
        String::from_utf8_lossy(bytes).into_owned(),
        size > bytes.len() as u64,
    )
}

/// One cell of a notebook, as a marker reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// `code`, `markdown` or `raw`.
    pub kind: String,
    pub source: String,
    /// Each output summarised: its text (cut), or what it is ("image/png").
    pub outputs: Vec<String>,
}

/// A notebook's source or text field: a string, or a list of lines.
fn joined(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Array(lines)) => lines
            .iter()
            .filter_map(|line| line.as_str())
            .collect::<Vec<_>>()
            .concat(),
        _ => String::new(),
    }
}

fn cut_at(text: String, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text;
    }
    let kept: String = text.chars().take(chars).collect();
    format!("{kept}… (cut)")
}

fn cut(text: String) -> String {
    cut_at(text, OUTPUT_CHARS)
}

fn output(value: &serde_json::Value) -> String {
    let kind = value
        .get("output_type")
        .and_then(|t| t.as_str())
        .unwrap_or("output");
    match kind {
        "stream" => cut(joined(value.get("text"))),
        "error" => format!(
            "error: {}: {}",
            value.get("ename").and_then(|e| e.as_str()).unwrap_or(""),
            value.get("evalue").and_then(|e| e.as_str()).unwrap_or("")
        ),
        _ => {
            let data = value.get("data").and_then(|d| d.as_object());
            match data {
                Some(data) if data.contains_key("text/plain") => {
                    cut(joined(data.get("text/plain")))
                }
                Some(data) => format!("({})", data.keys().cloned().collect::<Vec<_>>().join(", ")),
                None => format!("({kind})"),
            }
        }
    }
}

/// A notebook's cells (nbformat 4), or why it cannot be read.
pub fn notebook(text: &str) -> Result<Vec<Cell>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("it is not a readable notebook ({e})"))?;
    let cells = value
        .get("cells")
        .and_then(|c| c.as_array())
        .ok_or("it has no cells (not nbformat 4)")?;
    Ok(cells
        .iter()
        .take(CELLS)
        .map(|cell| Cell {
            kind: cell
                .get("cell_type")
                .and_then(|t| t.as_str())
                .unwrap_or("raw")
                .to_string(),
            source: cut_at(joined(cell.get("source")), SOURCE_CHARS),
            outputs: cell
                .get("outputs")
                .and_then(|o| o.as_array())
                .map(|outputs| outputs.iter().take(OUTPUTS).map(output).collect())
                .unwrap_or_default(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_shown_by_what_they_are() {
        assert_eq!(kind_of("lab1/ex1.ipynb"), Kind::Notebook);
        assert_eq!(kind_of("src/Main.JAVA"), Kind::Text);
        assert_eq!(kind_of("Makefile"), Kind::Text);
        assert_eq!(kind_of("report.pdf"), Kind::Other);
        assert_eq!(kind_of("data.bin"), Kind::Other);
    }

    #[test]
    fn a_notebook_reads_as_cells_with_outputs_summarised() {
        let notebook_text = r##"{"nbformat": 4, "cells": [
            {"cell_type": "markdown", "source": ["# Lab 1\n", "Answers."]},
            {"cell_type": "code", "source": "print(1)", "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["1\n"]},
                {"output_type": "display_data", "data": {"image/png": "iVBOR..."}},
                {"output_type": "execute_result", "data": {"text/plain": ["42"]}},
                {"output_type": "error", "ename": "ValueError", "evalue": "bad"}
            ]}
        ]}"##;
        let cells = notebook(notebook_text).unwrap();
        assert_eq!(cells[0].source, "# Lab 1\nAnswers.");
        assert_eq!(
            cells[1].outputs,
            vec!["1\n", "(image/png)", "42", "error: ValueError: bad"]
        );
        assert!(notebook("not json").is_err());
        assert!(notebook("{}").is_err());
        let long = format!(
            r#"{{"cells": [{{"cell_type": "code", "source": "", "outputs": [{{"output_type": "stream", "text": "{}"}}]}}]}}"#,
            "x".repeat(5000)
        );
        assert!(notebook(&long).unwrap()[0].outputs[0].ends_with("… (cut)"));
    }
}
