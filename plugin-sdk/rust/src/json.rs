//! Just enough JSON for a tool: read the arguments the host passes, write a result.
//!
//! The host hands a handler one JSON object, already validated against the tool's input schema, so a
//! handler mostly needs a member by name ([`Value::str_member`], [`Value::i64_member`], …) and an escaped
//! string for its answer ([`string`]). Nesting is limited to 512 levels, as in the host.

use crate::Error;

/// A parsed JSON value. Numbers keep their text, so no integer loses digits.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Value>),
    /// Members in document order.
    Object(Vec<(String, Value)>),
}

/// The deepest nesting [`parse`] accepts (the host's own limit).
pub const MAX_DEPTH: usize = 512;

/// Parses one JSON text. The error names the byte offset and what was expected there.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut parser = Parser { bytes: text.as_bytes(), at: 0 };
    let value = parser.value(0)?;
    parser.space();
    if parser.at != parser.bytes.len() {
        return Err(parser.error("the end of the text"));
    }
    Ok(value)
}

/// `text` as a JSON string literal, quoted and escaped.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_string(&mut out, text);
    out
}

/// Appends `text` as a JSON string literal to `out`.
pub fn push_string(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(name, _)| name == key).map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// An integer number (no fraction, no exponent) that fits in i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// The string member `key`, or an invalid-arguments error naming it.
    pub fn str_member(&self, key: &str) -> Result<&str, Error> {
        self.get(key).and_then(Value::as_str).ok_or_else(|| missing(key, "a string"))
    }

    /// The integer member `key`, or an invalid-arguments error naming it.
    pub fn i64_member(&self, key: &str) -> Result<i64, Error> {
        self.get(key).and_then(Value::as_i64).ok_or_else(|| missing(key, "an integer"))
    }

    /// The number member `key`, or an invalid-arguments error naming it.
    pub fn f64_member(&self, key: &str) -> Result<f64, Error> {
        self.get(key).and_then(Value::as_f64).ok_or_else(|| missing(key, "a number"))
    }
}

fn missing(key: &str, kind: &str) -> Error {
    Error::invalid_arguments(format!("argument '{key}' must be {kind}"))
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, expected: &str) -> Error {
        Error::invalid_arguments(format!("invalid JSON at byte {}: expected {expected}", self.at))
    }

    fn space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, Error> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error(word))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        if depth >= MAX_DEPTH {
            return Err(self.error(&format!("at most {MAX_DEPTH} levels of nesting")));
        }
        self.space();
        match self.bytes.get(self.at) {
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.space();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.closes(b']')? {
                        return Ok(Value::Array(items));
                    }
                }
            }
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.space();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Value::Object(members));
                }
                loop {
                    self.space();
                    if self.bytes.get(self.at) != Some(&b'"') {
                        return Err(self.error("a member name"));
                    }
                    let name = self.string()?;
                    self.space();
                    if self.bytes.get(self.at) != Some(&b':') {
                        return Err(self.error("':'"));
                    }
                    self.at += 1;
                    members.push((name, self.value(depth + 1)?));
                    if self.closes(b'}')? {
                        return Ok(Value::Object(members));
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("a value")),
        }
    }

    /// After an item of an array or object: true at its `close`, false after a `,` (another item follows).
    fn closes(&mut self, close: u8) -> Result<bool, Error> {
        self.space();
        match self.bytes.get(self.at) {
            Some(b',') => {
                self.at += 1;
                Ok(false)
            }
            Some(byte) if *byte == close => {
                self.at += 1;
                Ok(true)
            }
            _ => Err(self.error(&format!("',' or '{}'", close as char))),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.at;
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        let leading_zero = self.bytes.get(self.at) == Some(&b'0');
        let count = self.digits();
        if count == 0 || (leading_zero && count > 1) {
            return Err(self.error("digits without a leading zero"));
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("a digit in the exponent"));
            }
        }
        // The slice is ASCII digits and signs, so it is valid UTF-8.
        Ok(Value::Number(String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned()))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.error("four hex digits"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("four hex digits"))?;
        let value = u32::from_str_radix(text, 16).map_err(|_| self.error("four hex digits"))?;
        self.at += 4;
        Ok(value)
    }

    fn string(&mut self) -> Result<String, Error> {
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.bytes.get(self.at) {
                None => return Err(self.error("a closing '\"'")),
                Some(b'"') => {
                    self.at += 1;
                    // The input is a &str and escapes are pushed as UTF-8, so this cannot fail.
                    return String::from_utf8(out).map_err(|_| self.error("UTF-8"));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = match self.bytes.get(self.at) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.at += 1;
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                if !self.bytes[self.at..].starts_with(b"\\u") {
                                    return Err(self.error("a low surrogate after a high one"));
                                }
                                self.at += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Err(self.error("a low surrogate after a high one"));
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            let character = char::from_u32(code).ok_or_else(|| self.error("a valid code point"))?;
                            let mut buffer = [0u8; 4];
                            out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                            continue;
                        }
                        _ => return Err(self.error("an escape")),
                    };
                    self.at += 1;
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(escaped.encode_utf8(&mut buffer).as_bytes());
                }
                Some(byte) if *byte < 0x20 => return Err(self.error("no control characters in a string")),
                Some(byte) => {
                    out.push(*byte);
                    self.at += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_round_trips_strings() {
        let value =
            parse(r#" {"text": "a\"b\\c\u00e9\ud83d\ude00\n", "n": -12, "x": 1.5e3, "ok": true, "z": null} "#).unwrap();
        assert_eq!(value.str_member("text").unwrap(), "a\"b\\cé😀\n");
        assert_eq!(value.i64_member("n").unwrap(), -12);
        assert_eq!(value.f64_member("x").unwrap(), 1500.0);
        assert_eq!(value.get("ok").and_then(Value::as_bool), Some(true));
        assert_eq!(value.get("z"), Some(&Value::Null));
        let text = "quote \" back \\ tab \t bell \u{7} é";
        assert_eq!(parse(&string(text)).unwrap(), Value::String(text.to_string()));
        assert_eq!(string("\u{1}"), "\"\\u0001\"");
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in ["", "{", "[1,]", "01", "1.", "\"\\x\"", "{\"a\" 1}", "nul", "\"\u{1}\"", "[1] 2"] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(parse("{}").unwrap().str_member("text").unwrap_err().status, crate::Status::InvalidArguments);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let fine = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&fine).is_ok());
    }
}
