//! One line for an error and its causes, as the binary prints it on stderr.

/// `error` and each of its causes, joined by `: `. Errors here do not repeat their
/// source in their own message, so each cause is said once.
pub fn one_line(error: &anyhow::Error) -> String {
    let line = error
        .chain()
        .map(ToString::to_string)
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    // A file name may hold line breaks or escape sequences; the reason stays one line.
    line.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_follows_its_context() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let error = anyhow::Error::new(io).context("manifests/app.yaml");
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
