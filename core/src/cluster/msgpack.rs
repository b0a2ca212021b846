//! MessagePack as notepack.io writes it, to and from JSON values whose binary parts are
//! attachments.
//!
//! The adapter sends a message as msgpack only when it carries binary data, and inside gif-chat
//! binary data lives beside the JSON as attachments, named by Socket.IO placeholders
//! `{"_placeholder":true,"num":i}` ([`crate::socketio::Args`]). Decoding turns each msgpack
//! `bin` into such a placeholder (numbered in document order) and collects its bytes; encoding
//! puts the bytes back where their placeholders stand.
//!
//! notepack.io's choices, which rmpv's writer shares, so equal values give equal bytes: the
//! smallest integer form (positive fixint, uint 8/16/32/64, negative fixint, int 8/16/32/64),
//! float 64 for any non-integral number (JavaScript has one number type: an integral float is
//! written as an integer), `str` 8/16/32 for strings, `bin` 8/16/32 for buffers, fixarray/array 16,
//! fixmap/map 16 with keys in insertion order, `nil` for `null` and `undefined` array items.
//! On input, notepack's `undefined` extension (fixext 1, type 0) reads as `null`, as
//! `JSON.stringify` would show it; any other extension (a `Date`, say) is refused.

use bytes::Bytes;
use serde_json::{Map, Number, Value};

/// Why bytes are not a message the adapter could have written.
#[derive(Debug, thiserror::Error)]
pub enum MsgpackError {
    #[error("invalid msgpack: {0}")]
    Invalid(#[from] rmpv::decode::Error),
    #[error("{0} bytes after the msgpack value")]
    TrailingBytes(usize),
    #[error("map key is not a string")]
    NonStringKey,
    #[error("unsupported msgpack extension type {0}")]
    Extension(i8),
}

/// Decodes one msgpack value, binary parts replaced by placeholders for `attachments`.
pub(crate) fn decode(bytes: &[u8]) -> Result<(Value, Vec<Bytes>), MsgpackError> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value(&mut rest)?;
    if !rest.is_empty() {
        return Err(MsgpackError::TrailingBytes(rest.len()));
    }
    let mut attachments = Vec::new();
    let value = to_json(value, &mut attachments)?;
    Ok((value, attachments))
}

fn to_json(value: rmpv::Value, attachments: &mut Vec<Bytes>) -> Result<Value, MsgpackError> {
    use rmpv::Value as M;
    Ok(match value {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::Number(u.into()),
            (None, Some(i)) => Value::Number(i.into()),
            // rmpv integers are always one of the two.
            (None, None) => Value::Null,
        },
        M::F32(f) => float(f64::from(f)),
        M::F64(f) => float(f),
        // Node reads invalid UTF-8 with replacement characters; so does this.
        M::String(s) => Value::String(text(s)),
        M::Binary(bytes) => {
            let num = attachments.len();
            attachments.push(Bytes::from(bytes));
            placeholder(num)
        }
        M::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| to_json(item, attachments))
                .collect::<Result<_, _>>()?,
        ),
        M::Map(entries) => {
            let mut object = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let M::String(key) = key else {
                    return Err(MsgpackError::NonStringKey);
                };
                let key = text(key);
                object.insert(key, to_json(value, attachments)?);
            }
            Value::Object(object)
        }
        // notepack.io's `undefined`.
        M::Ext(0, _) => Value::Null,
        M::Ext(kind, _) => return Err(MsgpackError::Extension(kind)),
    })
}

fn text(s: rmpv::Utf8String) -> String {
    if s.is_str() {
        s.into_str().unwrap_or_default()
    } else {
        String::from_utf8_lossy(&s.into_bytes()).into_owned()
    }
}

/// A JSON number, or `null` for NaN and the infinities, as `JSON.stringify` shows them.
fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn placeholder(num: usize) -> Value {
    serde_json::json!({"_placeholder": true, "num": num})
}

/// The attachment a value stands for: Socket.IO's rule, `_placeholder` true and `num` in range.
pub(crate) fn attachment<'a>(value: &Value, attachments: &'a [Bytes]) -> Option<&'a Bytes> {
    let object = value.as_object()?;
    if object.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let num = object.get("num")?.as_u64()?;
    attachments.get(usize::try_from(num).ok()?)
}

/// Whether any placeholder in `value` stands for one of `attachments` (the adapter's
/// `hasBinary`, seen through placeholders).
pub(crate) fn has_binary(value: &Value, attachments: &[Bytes]) -> bool {
    if attachments.is_empty() {
        return false;
    }
    if attachment(value, attachments).is_some() {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|v| has_binary(v, attachments)),
        Value::Object(map) => map.values().any(|v| has_binary(v, attachments)),
        _ => false,
    }
}

/// Encodes `value` as notepack.io would encode the object it stands for.
pub(crate) fn encode(value: &Value, attachments: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &to_msgpack(value, attachments));
    out
}

fn to_msgpack(value: &Value, attachments: &[Bytes]) -> rmpv::Value {
    use rmpv::Value as M;
    if let Some(bytes) = attachment(value, attachments) {
        return M::Binary(bytes.to_vec());
    }
    match value {
        Value::Null => M::Nil,
        Value::Bool(b) => M::Boolean(*b),
        Value::Number(n) => number(n),
        Value::String(s) => M::String(s.as_str().into()),
        Value::Array(items) => M::Array(items.iter().map(|v| to_msgpack(v, attachments)).collect()),
        Value::Object(map) => M::Map(
            map.iter()
                .map(|(k, v)| (M::String(k.as_str().into()), to_msgpack(v, attachments)))
                .collect(),
        ),
    }
}

/// JavaScript has one number type, and notepack.io writes an integral one as an integer.
fn number(n: &Number) -> rmpv::Value {
    if let Some(u) = n.as_u64() {
        return rmpv::Value::from(u);
    }
    if let Some(i) = n.as_i64() {
        return rmpv::Value::from(i);
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    // i64 holds every integral f64 of magnitude below 2^63 exactly.
    if f.fract() == 0.0 && f.abs() < 2f64.powi(63) {
        let i = f as i64;
        return if i >= 0 {
            rmpv::Value::from(i as u64)
        } else {
            rmpv::Value::from(i)
        };
    }
    rmpv::Value::F64(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_becomes_a_placeholder_and_back() {
        let mut bytes = Vec::new();
        let tree = rmpv::Value::Array(vec![
            rmpv::Value::from("gif"),
            rmpv::Value::Binary(vec![1, 2, 3]),
        ]);
        rmpv::encode::write_value(&mut bytes, &tree).unwrap();
        let (value, attachments) = decode(&bytes).unwrap();
        assert_eq!(
            value,
            serde_json::json!(["gif", {"_placeholder": true, "num": 0}])
        );
        assert_eq!(attachments, vec![Bytes::from_static(&[1, 2, 3])]);
        assert!(has_binary(&value, &attachments));
        assert_eq!(encode(&value, &attachments), bytes);
    }

    #[test]
    fn integral_floats_are_integers_as_in_javascript() {
        let value = serde_json::json!([2.0, -3.0, 1.5]);
        assert_eq!(
            encode(&value, &[]),
            vec![0x93, 0x02, 0xfd, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn refuses_what_no_adapter_writes() {
        assert!(matches!(decode(&[0x91]), Err(MsgpackError::Invalid(_))));
        assert!(matches!(
            decode(&[0xc0, 0xc0]),
            Err(MsgpackError::TrailingBytes(1))
        ));
        assert!(matches!(
            decode(&[0x81, 0x01, 0x02]),
            Err(MsgpackError::NonStringKey)
        ));
        // A timestamp (a JavaScript Date).
        assert!(matches!(
            decode(&[0xd6, 0xff, 0, 0, 0, 1]),
            Err(MsgpackError::Extension(-1))
        ));
        // notepack.io's undefined.
        assert_eq!(decode(&[0xd4, 0, 0]).unwrap().0, Value::Null);
    }
}
