//! Proto comments, read from a file's source code info, as documentation
//! text: an operation's summary and description, a schema's description.
//!
//! Descriptor sets built without source info (`protoc` without
//! `--include_source_info`) carry no comments; everything here is then `None`.

use prost_reflect::FileDescriptor;

/// The comment of the element at `path` in `file`: its leading comment, else
/// its trailing one, with the comment markers' spacing removed. `None` when
/// there is none or it is blank.
pub(super) fn of(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    [&location.leading_comments, &location.trailing_comments]
        .into_iter()
        .flatten()
        .map(|text| clean(text))
        .find(|text| !text.is_empty())
}

/// Removes the one space after `//` on each line and surrounding blank lines.
fn clean(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    lines.join("\n").trim_matches('\n').to_owned()
}

/// The first sentence of `comment`, on one line: the text up to the first
/// `.` that is followed by a capital letter or ends the first paragraph
/// (so `e.g. foo` does not end it).
pub(super) fn summary(comment: &str) -> String {
    let paragraph = comment.split("\n\n").next().unwrap_or(comment);
    let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let bytes = flat.as_bytes();
    for (i, _) in flat.match_indices(". ") {
        if bytes.get(i + 2).is_some_and(u8::is_ascii_uppercase) {
            return flat[..=i].to_owned();
        }
    }
    flat
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Descriptors;

    #[test]
    fn first_sentence_is_the_summary() {
        let cases = [
            (
                "Creates a user. The service assigns `user_id`.",
                "Creates a user.",
            ),
            (
                "Gets one post by its resource name, e.g. `blogs/1/posts/2`.",
                "Gets one post by its resource name, e.g. `blogs/1/posts/2`.",
            ),
            (
                "Lists users,\noptionally filtered.\n\nMore detail. Here.",
                "Lists users, optionally filtered.",
            ),
            ("No period at all", "No period at all"),
            ("Sleeps. then answers", "Sleeps. then answers"),
        ];
        for (comment, want) in cases {
            assert_eq!(summary(comment), want, "{comment:?}");
        }
    }

    #[test]
    fn comments_come_from_source_info() {
        let d = Descriptors::bundled();
        let rpc = d
            .pool()
            .get_service_by_name("examples.v1.UserService")
            .unwrap()
            .methods()
            .find(|m| m.name() == "CreateUser")
            .unwrap();
        assert_eq!(
            of(&rpc.parent_file(), rpc.path()).as_deref(),
            Some("Creates a user. The service assigns `user_id`.")
        );
        assert_eq!(clean(" one\n two  \n\n"), "one\ntwo");
    }
}
