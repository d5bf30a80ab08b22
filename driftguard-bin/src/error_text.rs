//! One line for an error and its causes, as the binary prints it on stderr.

/// `error` and each of its causes, joined by `: `, leaving out a cause whose text the line
/// already holds (many errors repeat their source in their own message).
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    // A file name may hold line breaks or escape sequences; the reason stays one line.
    line.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let error = anyhow::Error::new(io).context("manifests/app.yaml: Permission denied");
        assert_eq!(one_line(&error), "manifests/app.yaml: Permission denied");
        let error = anyhow::anyhow!("connection refused").context("cannot reach the cluster");
        assert_eq!(
            one_line(&error),
            "cannot reach the cluster: connection refused"
        );
    }

    #[test]
    fn control_characters_do_not_break_the_line() {
        let error = anyhow::anyhow!("bad\nname\u{1b}[31m.yaml: invalid");
        assert_eq!(
            one_line(&error),
            "bad\u{fffd}name\u{fffd}[31m.yaml: invalid"
        );
    }
}
