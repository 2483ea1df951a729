//! A task's tags: short labels, matched without regard to ASCII case, kept as first spelled.

use std::collections::HashSet;

use super::{FieldError, LocPart, has_forbidden_control};

/// One tag: trimmed of Unicode whitespace, 1..=50 characters (Unicode scalar values), with no
/// control characters other than `\n`, `\r`, `\t`. Its [`key`](Tag::key) (the text with ASCII
/// letters lower-cased) is what tags are compared, matched and sorted by: `Work` and `work` are
/// one tag, `Été` and `été` are two (case is folded for ASCII only, the same way on both
/// databases).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    text: String,
    key: String,
}

impl Tag {
    pub const MAX_CHARS: usize = 50;

    /// Parses one tag; an error is placed at `loc` (`tags.3` in a task, `tag` in a filter).
    pub fn parse(raw: &str, loc: Vec<LocPart>) -> Result<Self, FieldError> {
        if has_forbidden_control(raw) {
            return Err(FieldError::at(
                loc,
                "value_error",
                "Value error, a tag must not contain control characters other than \\n, \\r and \\t",
            ));
        }
        let text = raw.trim();
        let length = text.chars().count();
        if length == 0 {
            return Err(FieldError::at(
                loc,
                "string_too_short",
                "String should have at least 1 character",
            ));
        }
        if length > Self::MAX_CHARS {
            return Err(FieldError::at(
                loc,
                "string_too_long",
                format!("String should have at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self {
            key: text.to_ascii_lowercase(),
            text: text.to_owned(),
        })
    }

    /// The tag as first spelled (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The matching key: the text with ASCII letters lower-cased.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The set of tags of one task, sorted by key. Keys are distinct, so the order is total.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskTags(Vec<Tag>);

impl TaskTags {
    /// At most this many distinct tags per task.
    pub const MAX_TAGS: usize = 20;
    const FIELD: &'static str = "tags";

    /// Parses a client's list: each tag as [`Tag::parse`] (errors at `tags.<index>`, all of
    /// them); tags equal up to ASCII case collapse to the first spelling; then at most
    /// [`MAX_TAGS`](Self::MAX_TAGS) distinct tags (the limit counts what the task will carry,
    /// so `["Work", "work"]` is one tag); the result is sorted by key.
    pub fn parse(raw: Vec<String>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut tags = Vec::new();
        for (index, raw) in raw.iter().enumerate() {
            match Tag::parse(raw, vec![Self::FIELD.into(), index.into()]) {
                Ok(tag) => {
                    if seen.insert(tag.key.clone()) {
                        tags.push(tag);
                    }
                }
                Err(error) => errors.push(error),
            }
        }
        if tags.len() > Self::MAX_TAGS {
            errors.push(FieldError::new(
                Self::FIELD,
                "too_long",
                format!(
                    "List should have at most {} items after removing duplicates, not {}",
                    Self::MAX_TAGS,
                    tags.len()
                ),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self::from_distinct(tags))
    }

    /// The set as the task row's `tags` column holds it: a JSON array of the texts, sorted by
    /// key (`["home","Work"]`).
    pub fn to_column(&self) -> String {
        serde_json::Value::from(self.texts()).to_string()
    }

    /// Reads back what [`to_column`](Self::to_column) wrote. Only this crate writes the column,
    /// so a value it cannot read is a bug, reported as such.
    pub fn from_column(column: &str) -> Result<Self, serde_json::Error> {
        let tags = Self::texts_in_column(column)?
            .into_iter()
            .map(|text| Tag {
                key: text.to_ascii_lowercase(),
                text,
            })
            .collect();
        Ok(Self::from_distinct(tags))
    }

    /// The texts a column holds, in its order (already sorted by key), without building the set:
    /// what a read that only shows the tags needs.
    pub fn texts_in_column(column: &str) -> Result<Vec<String>, serde_json::Error> {
        serde_json::from_str(column)
    }

    fn from_distinct(mut tags: Vec<Tag>) -> Self {
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        Self(tags)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tags as clients see them: first spellings, sorted by key.
    pub fn texts(&self) -> Vec<String> {
        self.0.iter().map(|tag| tag.text.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn texts(items: &[&str]) -> Vec<String> {
        TaskTags::parse(strings(items)).expect("valid tags").texts()
    }

    #[test]
    fn tags_are_trimmed_and_sorted_by_their_ascii_lower_case_text() {
        assert_eq!(
            texts(&["  work ", "Errands", "\thome\n", "BILLS"]),
            ["BILLS", "Errands", "home", "work"]
        );
        assert_eq!(texts(&[]), Vec::<String>::new());
    }

    #[test]
    fn duplicates_up_to_ascii_case_collapse_to_the_first_spelling() {
        assert_eq!(
            texts(&["Work", "work", " WORK ", "home", "Home"]),
            ["home", "Work"]
        );
        let tags = TaskTags::parse(strings(&["Work", "work"])).expect("valid");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags.iter().next().map(Tag::key), Some("work"));
    }

    #[test]
    fn case_is_folded_for_ascii_letters_only() {
        // É and é differ beyond ASCII: two tags, ordered by their keys' bytes.
        assert_eq!(texts(&["été", "Été", "ete"]), ["ete", "Été", "été"]);
        let tag = Tag::parse("Straße", vec![]).expect("valid");
        assert_eq!(tag.key(), "straße");
    }

    #[test]
    fn the_order_follows_the_keys_bytes_and_the_first_spelling_of_each_key_is_kept() {
        let forward = texts(&["b", "A", "a", "B", "ä", "Ä", "10", "9"]);
        let backward = texts(&["9", "10", "Ä", "ä", "B", "a", "A", "b"]);
        assert_eq!(forward, ["10", "9", "A", "b", "Ä", "ä"]);
        assert_eq!(backward, ["10", "9", "a", "B", "Ä", "ä"]);
    }

    #[test]
    fn a_tag_is_1_to_50_characters_counted_in_unicode_scalar_values() {
        assert_eq!(texts(&[&"é".repeat(50)]), ["é".repeat(50)]);
        assert_eq!(texts(&[&format!("  {}  ", "x".repeat(50))]), ["x".repeat(50)]);

        let errors = TaskTags::parse(strings(&["ok", &"é".repeat(51), "  ", ""])).expect_err("bad");
        let found: Vec<(String, &str)> = errors.iter().map(|e| (e.field(), e.kind)).collect();
        assert_eq!(
            found,
            [
                ("tags.1".to_owned(), "string_too_long"),
                ("tags.2".to_owned(), "string_too_short"),
                ("tags.3".to_owned(), "string_too_short"),
            ]
        );
        assert_eq!(errors[0].message, "String should have at most 50 characters");
        assert_eq!(errors[1].message, "String should have at least 1 character");
    }

    #[test]
    fn control_characters_other_than_whitespace_are_refused() {
        for raw in ["a\u{0}b", "bell\u{7}", "esc\u{1b}", "del\u{7f}", "c1\u{85}"] {
            let errors = TaskTags::parse(strings(&[raw])).expect_err(raw);
            assert_eq!(errors.len(), 1, "{raw:?}");
            assert_eq!(
                (errors[0].field().as_str(), errors[0].kind),
                ("tags.0", "value_error")
            );
        }
        // Tabs and newlines inside a tag are kept; around it they are trimmed.
        assert_eq!(texts(&["a\tb"]), ["a\tb"]);
    }

    #[test]
    fn at_most_twenty_distinct_tags_and_duplicates_do_not_count() {
        let twenty: Vec<String> = (0..20).map(|i| format!("tag{i:02}")).collect();
        assert_eq!(TaskTags::parse(twenty.clone()).map(|t| t.len()), Ok(20));

        let mut with_duplicates = twenty.clone();
        with_duplicates.extend(twenty.iter().map(|t| t.to_ascii_uppercase()));
        assert_eq!(TaskTags::parse(with_duplicates).map(|t| t.len()), Ok(20));

        let mut twenty_one = twenty;
        twenty_one.push("one more".to_owned());
        let errors = TaskTags::parse(twenty_one).expect_err("too many");
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].field().as_str(), errors[0].kind), ("tags", "too_long"));
        assert_eq!(
            errors[0].message,
            "List should have at most 20 items after removing duplicates, not 21"
        );
    }

    #[test]
    fn a_tag_parsed_alone_places_its_error_where_the_caller_says() {
        let error = Tag::parse(" ", vec!["query".into(), "tag".into()]).expect_err("blank");
        assert_eq!(
            (error.field().as_str(), error.kind),
            ("query.tag", "string_too_short")
        );
    }

    #[test]
    fn the_column_encoding_reads_back_the_same_set() {
        let tags = TaskTags::parse(strings(&["work", " Home", "\"quoted\" ünïcode"])).expect("tags");
        let column = tags.to_column();
        assert_eq!(column, r#"["\"quoted\" ünïcode","Home","work"]"#);
        let read = TaskTags::from_column(&column).expect("readable");
        assert_eq!(read, tags);
        assert_eq!(
            read.iter().map(Tag::key).collect::<Vec<_>>(),
            ["\"quoted\" ünïcode", "home", "work"]
        );
        assert_eq!(
            TaskTags::texts_in_column(&column).expect("readable"),
            tags.texts()
        );
        assert_eq!(TaskTags::default().to_column(), "[]");
        assert!(TaskTags::from_column("[]").expect("empty").is_empty());
        assert!(TaskTags::from_column("work").is_err());
    }
}
