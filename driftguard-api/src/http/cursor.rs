//! The `cursor` of event pages: an event position as opaque, URL-safe text.
//!
//! A page of events answers with `next`, the position of its last event when more
//! follow; the client passes it back as `?cursor=` and gets the events strictly after it.
//! Clients must not read or build cursors: the text is base64url (no padding) of
//!
//! | bytes | content |
//! |---|---|
//! | 1 | format version, [`VERSION`] |
//! | 8 | the event's time: whole seconds since the Unix epoch, signed, big-endian |
//! | 4 | the nanoseconds within that second, big-endian, below 1,000,000,000 |
//! | 1 to [`MAX_KEY_LEN`] | the store's key of the event, which orders events sharing a time |
//!
//! The version lets a later format refuse cursors of this one with a 400 rather than
//! misread them. Anything that does not decode is a 400 naming `cursor`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use driftguard_core::ports::EventPosition;

use super::reply::ApiError;

/// The format version this build writes and reads.
const VERSION: u8 = 1;
/// Bytes before the key: version, seconds, nanoseconds.
const HEADER_LEN: usize = 1 + 8 + 4;
/// The longest store key a cursor carries (stores use 8 or 12 bytes).
const MAX_KEY_LEN: usize = 32;
/// The longest cursor text: base64 of the longest payload.
const MAX_TEXT_LEN: usize = (HEADER_LEN + MAX_KEY_LEN).div_ceil(3) * 4;

/// What a `cursor` must be, for error messages.
pub(crate) const EXPECTED: &str = "the `next` value of an earlier page of these events";

/// The cursor text of `position`.
pub(crate) fn encode(position: &EventPosition) -> String {
    let mut bytes = Vec::with_capacity(HEADER_LEN + position.key.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&position.at.timestamp().to_be_bytes());
    bytes.extend_from_slice(&position.at.timestamp_subsec_nanos().to_be_bytes());
    bytes.extend_from_slice(&position.key);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The position a cursor text holds; a 400 naming `cursor` when it holds none.
pub(crate) fn decode(text: &str) -> Result<EventPosition, ApiError> {
    let refused = || ApiError::bad_parameter("cursor", EXPECTED, text);
    if text.len() > MAX_TEXT_LEN {
        return Err(refused());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| refused())?;
    let (header, key) = bytes.split_at_checked(HEADER_LEN).ok_or_else(refused)?;
    let (&version, time) = header.split_first().ok_or_else(refused)?;
    let (seconds, nanos) = time.split_at(8);
    let seconds = i64::from_be_bytes(seconds.try_into().map_err(|_| refused())?);
    let nanos = u32::from_be_bytes(nanos.try_into().map_err(|_| refused())?);
    if version != VERSION || key.is_empty() || key.len() > MAX_KEY_LEN || nanos >= 1_000_000_000 {
        return Err(refused());
    }
    let at = DateTime::from_timestamp(seconds, nanos).ok_or_else(refused)?;
    Ok(EventPosition {
        at,
        key: key.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{TimeZone, Utc};

    use super::*;

    fn position(key: Vec<u8>) -> EventPosition {
        EventPosition {
            at: Utc
                .with_ymd_and_hms(2025, 1, 31, 12, 0, 0)
                .single()
                .unwrap()
                + chrono::TimeDelta::nanoseconds(120_000_001),
            key,
        }
    }

    #[test]
    fn positions_round_trip_through_url_safe_text() {
        for key in [
            vec![0xfb; 8],
            vec![0xff; 12],
            vec![1],
            vec![0x3f; MAX_KEY_LEN],
        ] {
            let position = position(key);
            let text = encode(&position);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{text}"
            );
            assert!(text.len() <= MAX_TEXT_LEN);
            assert_eq!(decode(&text).unwrap(), position);
        }
        let before_the_epoch = EventPosition {
            at: Utc
                .with_ymd_and_hms(1969, 7, 20, 20, 17, 40)
                .single()
                .unwrap(),
            key: vec![9; 8],
        };
        assert_eq!(
            decode(&encode(&before_the_epoch)).unwrap(),
            before_the_epoch
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_parameter() {
        let valid = encode(&position(vec![7; 8]));
        let payload = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = URL_SAFE_NO_PAD.decode(&valid).unwrap();
            edit(&mut bytes);
            URL_SAFE_NO_PAD.encode(bytes)
        };
        for text in [
            "not a cursor!".to_owned(),
            "AAAA".to_owned(),
            format!("{valid}="),
            valid.replace('-', "+").replace('_', "/") + "%",
            payload(&|b| b[0] = 2),
            payload(&|b| b.truncate(HEADER_LEN)),
            payload(&|b| b.extend([0; MAX_KEY_LEN])),
            payload(&|b| b[9..13].copy_from_slice(&1_000_000_000_u32.to_be_bytes())),
            payload(&|b| b[1..9].copy_from_slice(&i64::MAX.to_be_bytes())),
            "A".repeat(MAX_TEXT_LEN + 4),
        ] {
            let error = decode(&text).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{text}");
            assert!(
                error
                    .message()
                    .starts_with("invalid query parameter `cursor`"),
                "{text}: {}",
                error.message()
            );
        }
    }
}
