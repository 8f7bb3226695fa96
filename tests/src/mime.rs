//! Reading raw MIME messages in tests: headers unfolded, bodies' quoted-printable undone.

/// The message with its headers as sent and its body's quoted-printable undone (soft line breaks
/// joined, `=XX` bytes decoded), so tests can look for the sentences a customer reads.
pub fn readable(raw: &str) -> String {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    format!("{head}\r\n\r\n{}", String::from_utf8_lossy(&out))
}

/// A header's value, unfolded (a long header continues on lines that start with white space).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .split("\r\n")
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .map(|value| value.split_whitespace().collect::<Vec<_>>().join(" "))
}
