//! Field-level validation messages, shown next to the field they concern.

#[derive(Debug, Default, Clone)]
pub struct FieldErrors {
    errors: Vec<(&'static str, String)>,
}

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.push((field, message.into()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.errors.iter()
    }
}

/// Cuts `s` to at most `max` characters on a character boundary, so that an over-long
/// value can be shown back in its form without echoing megabytes.
pub fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
