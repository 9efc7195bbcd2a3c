//! `.env` files read exactly as `twilio-run` 4.x reads them: with `dotenv.parse` of dotenv 6.2
//! (the version its `^6.2.0` resolves to), a line-by-line match of
//! `^\s*([\w.-]+)\s*=\s*(.*)?\s*$` with JavaScript's regular-expression semantics.
//!
//! What that means, and what crates such as dotenvy do differently: values need no quotes
//! (`GREETING=Hi there`), `#` starts a comment only at the start of a line (`A=b # c` keeps
//! ` # c`), one leading and one trailing quote are removed independently (`'{"a":1}'` →
//! `{"a":1}`, unquoted JSON stays verbatim), only double-quoted values turn `\n` into a newline,
//! there are no multi-line values, `export` prefixes or variable expansion, and the last of
//! duplicate keys wins. dotenv skips every line it does not match without a word; here those
//! lines are returned too, so they can be reported with their line number.

/// The outcome of parsing one `.env` file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Keys in the order they first appear, each with its last value.
    pub pairs: Vec<(String, String)>,
    /// Lines dotenv skips that are neither blank nor comments: (1-based line number, line).
    pub ignored: Vec<(usize, String)>,
}

/// What JavaScript's `\s` and `String.prototype.trim` treat as white space.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

/// What JavaScript's `.` does not match.
fn is_js_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// JavaScript's `\w` (without the `u` flag), plus the `.` and `-` dotenv allows in keys.
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The key and raw value of a line, if dotenv's pattern matches it.
fn match_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start_matches(is_js_space);
    let key_end = rest.find(|c| !is_key_char(c)).unwrap_or(rest.len());
    if key_end == 0 {
        return None;
    }
    let (key, rest) = rest.split_at(key_end);
    let rest = rest.trim_start_matches(is_js_space).strip_prefix('=')?;
    // `\s*` after `=` is greedy; `(.*)` then stops at the first line terminator, and only
    // white space may follow it (`\s*$`), whatever the backtracking.
    let rest = rest.trim_start_matches(is_js_space);
    let value_end = rest.find(is_js_line_terminator).unwrap_or(rest.len());
    let (value, tail) = rest.split_at(value_end);
    tail.chars().all(is_js_space).then_some((key, value))
}

/// dotenv's treatment of a matched value.
fn unquote(raw: &str) -> String {
    let mut value = if raw.starts_with('"') && raw.ends_with('"') {
        raw.replace("\\n", "\n")
    } else {
        raw.to_string()
    };
    // `value.replace(/(^['"]|['"]$)/g, '')`: one quote off each end, independently; a lone
    // quote is both ends at once.
    if value.starts_with(['"', '\'']) {
        value.remove(0);
    }
    if value.ends_with(['"', '\'']) {
        value.pop();
    }
    value.trim_matches(is_js_space).to_string()
}

/// Parses the text of a `.env` file.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (index, line) in text.split('\n').enumerate() {
        match match_line(line) {
            // An assignment to `__proto__` sets a JavaScript object's prototype, not a key.
            Some(("__proto__", _)) => {}
            Some((key, raw)) => {
                let value = unquote(raw);
                match parsed.pairs.iter_mut().find(|(k, _)| k == key) {
                    Some(pair) => pair.1 = value,
                    None => parsed.pairs.push((key.to_string(), value)),
                }
            }
            None => {
                let content = line.trim_matches(is_js_space);
                if !content.is_empty() && !content.starts_with('#') {
                    parsed.ignored.push((index + 1, content.to_string()));
                }
            }
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(line: &str) -> Option<String> {
        let parsed = parse(line);
        parsed.pairs.into_iter().next().map(|(_, v)| v)
    }

    // Each expectation was checked against dotenv 6.2.0's `parse` in Node.js.
    #[test]
    fn values_as_dotenv_6_reads_them() {
        let cases = [
            ("GREETING=Hi there", "Hi there"),
            ("SINGLE='single quoted'", "single quoted"),
            ("DOUBLE=\"double quoted\"", "double quoted"),
            ("NL=\"a\\nb\"", "a\nb"),
            ("NLS='a\\nb'", "a\\nb"),
            ("INLINE=value # not a comment", "value # not a comment"),
            ("EMPTY=", ""),
            ("JSON={\"a\":1}", "{\"a\":1}"),
            ("QJSON='{\"a\":1}'", "{\"a\":1}"),
            ("SPACED = spaced value   ", "spaced value"),
            ("MIXED=\"abc'", "abc"),
            ("TRAIL=\"x\"   ", "x\""),
            ("  LEAD=  lead", "lead"),
            ("CR=crlf\r", "crlf"),
            ("QQ=\"\"", ""),
            ("Q='", ""),
            ("INNER=\"a\"b\"", "a\"b"),
            ("EQ=a=b=c", "a=b=c"),
            ("TAB=\ttabbed\t", "tabbed"),
            ("MULTI=\"line1", "line1"),
            ("\u{feff}BOM=1", "1"),
        ];
        for (line, expected) in cases {
            assert_eq!(value_of(line).as_deref(), Some(expected), "{line:?}");
        }
    }

    #[test]
    fn keys_may_hold_dots_and_dashes_and_the_last_duplicate_wins() {
        let parsed = parse("dot.key=1\ndash-key=2\nDUP=first\nOTHER=x\nDUP=second\n");
        assert_eq!(
            parsed.pairs,
            [("dot.key", "1"), ("dash-key", "2"), ("DUP", "second"), ("OTHER", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(parsed.ignored.is_empty());
    }

    #[test]
    fn lines_dotenv_skips_are_reported_with_their_numbers() {
        let text = "# COMMENT=1\n  # indented\n\nexport EXPORTED=1\nNOEQUALS\nA=1\nline2\"\n=novalue\n\u{dc}MLAUT=1\nB= x\ry\n__proto__=x\n";
        let parsed = parse(text);
        assert_eq!(parsed.pairs, [("A".to_string(), "1".to_string())]);
        let lines: Vec<usize> = parsed.ignored.iter().map(|(n, _)| *n).collect();
        assert_eq!(lines, [4, 5, 7, 8, 9, 10]);
        assert_eq!(parsed.ignored[0].1, "export EXPORTED=1");
    }
}
