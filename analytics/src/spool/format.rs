//! A record on disk: `[len: u32 LE][crc32: u32 LE][JSON]`.
//!
//! Reading back keeps going past damage: a record whose length and checksum
//! are intact but whose JSON cannot be read is skipped by its length; a record
//! whose header or bytes are damaged is skipped by searching forward for the
//! next intact record. Only damage with nothing intact after it is a torn
//! tail (a write cut off by a crash, never acknowledged), which is cut off.

use crate::hit::Record;

/// Larger records are never written (a beacon is a few hundred bytes), so a
/// length beyond this is damage, not a record.
const MAX_RECORD: usize = 64 << 10;
const HEADER: usize = 8;

pub fn encode(record: &Record, buffer: &mut Vec<u8>) {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; HEADER]);
    // Serialising our own struct to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buffer, record);
    let payload = &buffer[start + HEADER..];
    let len = payload.len() as u32;
    let crc = crc32fast::hash(payload);
    buffer[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buffer[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// What a segment's bytes hold.
#[derive(Debug, Default)]
pub struct Decoded {
    pub records: Vec<Record>,
    /// Where the last intact record (or skipped damage) ends; bytes after it
    /// are a torn tail.
    pub valid: usize,
    /// Damaged stretches skipped between intact records.
    pub skipped: usize,
}

/// The payload of an intact record starting at `at`, if there is one.
fn intact(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let header = bytes.get(at..at + HEADER)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let payload = bytes.get(at + HEADER..at + HEADER + len)?;
    (crc32fast::hash(payload) == crc).then_some(payload)
}

pub fn decode(bytes: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut at = 0;
    while bytes.len() - at >= HEADER {
        if let Some(payload) = intact(bytes, at) {
            match serde_json::from_slice::<Record>(payload) {
                Ok(record) => out.records.push(record),
                // Written whole but unreadable: lose this one, keep going.
                Err(_) => out.skipped += 1,
            }
            at += HEADER + payload.len();
            out.valid = at;
            continue;
        }
        // Damage: resume at the next intact record, if any follows.
        match (at + 1..bytes.len().saturating_sub(HEADER - 1)).find(|&p| intact(bytes, p).is_some())
        {
            Some(next) => {
                out.skipped += 1;
                at = next;
                out.valid = at;
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::hit::Kind;

    pub(crate) fn record(id: u64) -> Record {
        Record {
            seq: id,
            t: 1,
            k: Kind::View,
            id,
            path: "/".into(),
            page: None,
            rh: None,
            rp: None,
            entry: true,
            v: 9,
            b: "Firefox".into(),
            o: "Linux".into(),
            d: "phone".into(),
            q: None,
        }
    }

    fn segment(n: u64) -> (Vec<u8>, Vec<usize>) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for id in 1..=n {
            starts.push(bytes.len());
            encode(&record(id), &mut bytes);
        }
        (bytes, starts)
    }

    #[test]
    fn torn_tail_is_cut_and_the_rest_survives() {
        let (mut bytes, _) = segment(3);
        let whole = bytes.len();
        bytes.truncate(whole - 5);
        let decoded = decode(&bytes);
        assert_eq!(decoded.records.len(), 2);
        assert_eq!(decoded.skipped, 0);
        assert!(decoded.valid < bytes.len());
    }

    #[test]
    fn a_damaged_record_mid_segment_loses_only_itself() {
        let (bytes, starts) = segment(5);
        // A flipped byte in the payload of the second record.
        let mut flipped = bytes.clone();
        flipped[starts[1] + HEADER + 3] ^= 0xff;
        let decoded = decode(&flipped);
        let ids: Vec<u64> = decoded.records.iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 3, 4, 5]);
        assert_eq!(decoded.skipped, 1);
        assert_eq!(decoded.valid, bytes.len());
        // A damaged length: the rest is found by searching forward.
        let mut bad_len = bytes.clone();
        bad_len[starts[2]..starts[2] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let ids: Vec<u64> = decode(&bad_len).records.iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 2, 4, 5]);
    }

    #[test]
    fn an_intact_record_with_unreadable_json_is_skipped_by_its_length() {
        let (mut bytes, _) = segment(1);
        let junk = b"{not json";
        bytes.extend_from_slice(&(junk.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(junk).to_le_bytes());
        bytes.extend_from_slice(junk);
        encode(&record(3), &mut bytes);
        let decoded = decode(&bytes);
        let ids: Vec<u64> = decoded.records.iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 3]);
        assert_eq!(decoded.skipped, 1);
    }
}
