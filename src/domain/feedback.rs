//! How a feedback zip is read: laid out like the all-submissions zip, one
//! folder per student, and whatever is in a student's folder goes back to
//! that student. Pure: which folder is a student is asked of the caller.

use std::collections::BTreeMap;

use super::bundle::is_clutter;

/// The all-submissions zip's own list of bundles: a marker who adds
/// feedback to that zip's folders and zips them up again sends it back.
const MANIFEST: &str = "manifest.csv";

/// A feedback zip's files, sorted into students' folders.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Folder name (as the zip spells it) → (entry index, name inside the folder).
    pub folders: BTreeMap<String, Vec<(usize, String)>>,
    /// What is wrong, one line per file or folder: nothing is returned then.
    pub problems: Vec<String>,
    /// Files left out on purpose (clutter, the manifest).
    pub left_out: usize,
}

/// Sorts the zip's files (`paths`, in the zip's order; folders left out)
/// into students' folders. When every file lies in one folder that is not
/// a student's (the marker zipped the folder that holds the students'
/// folders), the students' folders are looked for inside it.
pub fn sort(paths: &[String], is_student: impl Fn(&str) -> bool) -> Layout {
    let mut layout = Layout::default();
    let files: Vec<(usize, &str)> = paths
        .iter()
        .enumerate()
        .filter(|(_, path)| {
            let clutter = is_clutter(path);
            layout.left_out += usize::from(clutter);
            !clutter
        })
        .map(|(index, path)| (index, path.as_str()))
        .collect();
    let wrapper = files
        .first()
        .and_then(|(_, path)| path.split_once('/'))
        .map(|(top, _)| top)
        .filter(|top| !is_student(top))
        .filter(|top| {
            files
                .iter()
                .all(|(_, path)| path.split_once('/').is_some_and(|(first, _)| first == *top))
        })
        // A wrapper holds students' folders; one wrong folder is just wrong.
        .filter(|top| {
            files.iter().any(|(_, path)| {
                path[top.len() + 1..]
                    .split_once('/')
                    .is_some_and(|(folder, _)| is_student(folder))
            })
        });
    for (index, whole) in files {
        let path = match wrapper {
            Some(top) => &whole[top.len() + 1..],
            None => whole,
        };
        match path.split_once('/') {
            None if path == MANIFEST => layout.left_out += 1,
            None => layout
                .problems
                .push(format!("{whole}: not in a student's folder")),
            Some((folder, _)) if !is_student(folder) => {
                let problem = format!("folder {folder}: no such student on this assignment");
                if !layout.problems.contains(&problem) {
                    layout.problems.push(problem);
                }
            }
            // A student's folder that holds other students' folders is a
            // wrapper named like a student: returning it all to that one
            // student would hand them everyone's feedback.
            Some((folder, name))
                if name
                    .split_once('/')
                    .is_some_and(|(inner, _)| inner != folder && is_student(inner)) =>
            {
                let problem = format!(
                    "folder {folder} holds other students' folders: zip the students' folders themselves"
                );
                if !layout.problems.contains(&problem) {
                    layout.problems.push(problem);
                }
            }
            Some((folder, name)) => layout
                .folders
                .entry(folder.to_string())
                .or_default()
                .push((index, name.to_string())),
        }
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    fn student(name: &str) -> bool {
        matches!(name, "alice" | "bob" | "C0042")
    }

    #[test]
    fn each_folder_goes_to_its_student() {
        let layout = sort(
            &paths(&[
                "alice/feedback.pdf",
                "bob/marked/report.pdf",
                "alice/notes.txt",
            ]),
            student,
        );
        assert_eq!(layout.problems, Vec::<String>::new());
        assert_eq!(
            layout.folders["alice"],
            vec![
                (0, "feedback.pdf".to_string()),
                (2, "notes.txt".to_string())
            ]
        );
        assert_eq!(
            layout.folders["bob"],
            vec![(1, "marked/report.pdf".to_string())]
        );
    }

    #[test]
    fn every_bad_file_and_folder_is_named() {
        let layout = sort(
            &paths(&["stray.pdf", "mallory/x.pdf", "mallory/y.pdf", "bob/ok.pdf"]),
            student,
        );
        assert_eq!(
            layout.problems,
            vec![
                "stray.pdf: not in a student's folder".to_string(),
                "folder mallory: no such student on this assignment".to_string(),
            ]
        );
    }

    #[test]
    fn a_zipped_parent_folder_is_looked_into() {
        let layout = sort(
            &paths(&[
                "COMP1-labs-submissions/alice/f.pdf",
                "COMP1-labs-submissions/C0042/g.pdf",
                "COMP1-labs-submissions/manifest.csv",
            ]),
            student,
        );
        assert_eq!(layout.problems, Vec::<String>::new());
        assert_eq!(layout.left_out, 1);
        assert_eq!(layout.folders["C0042"], vec![(1, "g.pdf".to_string())]);
        // A student's own folder is not a wrapper.
        let layout = sort(&paths(&["alice/f.pdf", "alice/g.pdf"]), student);
        assert_eq!(layout.folders["alice"].len(), 2);
        // A stray file inside a wrapper is named as the zip has it.
        let layout = sort(&paths(&["labs/alice/f.pdf", "labs/stray.pdf"]), student);
        assert_eq!(
            layout.problems,
            vec!["labs/stray.pdf: not in a student's folder"]
        );
    }

    #[test]
    fn one_wrong_folder_is_named_and_a_student_folder_never_takes_everyone_elses() {
        let layout = sort(&paths(&["mallory/a.pdf", "mallory/b.pdf"]), student);
        assert_eq!(
            layout.problems,
            vec!["folder mallory: no such student on this assignment"]
        );
        let layout = sort(
            &paths(&["alice/bob/f.pdf", "alice/C0042/g.pdf", "alice/mine.pdf"]),
            student,
        );
        assert_eq!(
            layout.problems,
            vec![
                "folder alice holds other students' folders: zip the students' folders themselves"
            ]
        );
        assert!(layout.folders["alice"].iter().all(|(_, n)| n == "mine.pdf"));
    }

    #[test]
    fn clutter_and_the_manifest_are_left_out() {
        let layout = sort(
            &paths(&[
                "manifest.csv",
                "__MACOSX/alice/._f.pdf",
                "alice/.DS_Store",
                "alice/f.pdf",
            ]),
            student,
        );
        assert_eq!(layout.problems, Vec::<String>::new());
        assert_eq!(layout.left_out, 3);
        assert_eq!(layout.folders["alice"], vec![(3, "f.pdf".to_string())]);
    }
}
