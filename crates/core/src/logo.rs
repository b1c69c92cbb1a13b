//! The branch logo printed on invoices: a PNG or JPEG given base64-encoded
//! in `settings.update` (`branch.logo`), checked by its magic bytes, size
//! and pixel dimensions, and kept in the database (`branch_logos`).

use base64::Engine;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::clock::Stamp;
use crate::error::Result;

/// The most bytes a logo file may have.
pub const MAX_BYTES: usize = 256 * 1024;
/// The most pixels a logo may have on either side.
pub const MAX_SIDE: u32 = 4000;

/// What settings show of the logo (never the bytes).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct LogoInfo {
    pub media_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
}

/// A checked logo file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// `image/png` or `image/jpeg`.
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

impl Logo {
    pub fn info(&self) -> LogoInfo {
        LogoInfo { media_type: self.media_type.into(), width: self.width, height: self.height, bytes: self.bytes.len() }
    }
}

/// Reads `text` as a logo: standard base64 (RFC 4648, padding optional,
/// whitespace ignored), optionally as a `data:image/…;base64,` URL. The
/// error is a sentence for the `branch.logo` field.
pub fn parse(text: &str) -> std::result::Result<Logo, String> {
    let text = text.trim();
    let text = match text.strip_prefix("data:") {
        Some(rest) => {
            rest.split_once(";base64,").map(|(_, b)| b).ok_or("must be base64 (a data URL needs ;base64,)")?
        }
        None => text,
    };
    if text.len() > MAX_BYTES * 4 / 3 + 1024 {
        return Err(format!("is larger than {} KB", MAX_BYTES / 1024));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(compact.trim_end_matches('='))
        .map_err(|_| "must be a PNG or JPEG file, base64-encoded".to_string())?;
    if bytes.len() > MAX_BYTES {
        return Err(format!("is larger than {} KB", MAX_BYTES / 1024));
    }
    let (media_type, (width, height)) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ("image/png", png_size(&bytes).filter(|_| png_decodes(&bytes)).ok_or("is a damaged PNG file")?)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ("image/jpeg", jpeg_size(&bytes)?)
    } else {
        return Err("must be a PNG or JPEG file".into());
    };
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!("must be between 1 and {MAX_SIDE} pixels on each side, not {width}×{height}"));
    }
    Ok(Logo { media_type, width, height, bytes })
}

/// Width and height from the PNG header (IHDR, the first chunk).
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 33 || &b[12..16] != b"IHDR" {
        return None;
    }
    let be = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
    Some((be(&b[16..20]), be(&b[20..24])))
}

/// Whether the whole PNG decodes: a file cut short or with damaged image
/// data is refused here, not found out when an invoice is printed.
fn png_decodes(b: &[u8]) -> bool {
    let Ok(mut reader) = png::Decoder::new(std::io::Cursor::new(b)).read_info() else {
        return false;
    };
    let Some(size) = reader.output_buffer_size() else {
        return false;
    };
    let mut pixels = vec![0; size];
    reader.next_frame(&mut pixels).is_ok() && reader.finish().is_ok()
}

/// Width and height from the JPEG frame header (SOFn); greyscale or colour
/// (1 or 3 components) only: CMYK JPEGs print with inverted colours.
fn jpeg_size(b: &[u8]) -> std::result::Result<(u32, u32), String> {
    let damaged = || "is a damaged JPEG file".to_string();
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return Err(damaged());
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if frame {
            let s = b.get(i + 4..i + 10).ok_or_else(damaged)?;
            let height = u32::from(u16::from_be_bytes([s[1], s[2]]));
            let width = u32::from(u16::from_be_bytes([s[3], s[4]]));
            if !matches!(s[5], 1 | 3) {
                return Err("must be a greyscale or RGB JPEG (not CMYK)".into());
            }
            // The image data follows a start of scan and the file ends with
            // its end-of-image marker: a file cut short has none.
            let rest = b.get(i + 2 + len..).ok_or_else(damaged)?;
            let scan = rest.windows(2).any(|w| w == [0xFF, 0xDA]);
            if !scan || !b.ends_with(&[0xFF, 0xD9]) {
                return Err(damaged());
            }
            return Ok((width, height));
        }
        if marker == 0xDA || len < 2 {
            break;
        }
        i += 2 + len;
    }
    Err(damaged())
}

/// The branch's logo, if one is set.
pub fn get(conn: &Connection, branch_id: &str) -> Result<Option<Logo>> {
    Ok(conn
        .prepare_cached("SELECT media_type, width, height, bytes FROM branch_logos WHERE branch_id = ?1")?
        .query_row([branch_id], |r| {
            let media_type: String = r.get(0)?;
            Ok(Logo {
                media_type: if media_type == "image/png" { "image/png" } else { "image/jpeg" },
                width: r.get(1)?,
                height: r.get(2)?,
                bytes: r.get(3)?,
            })
        })
        .optional()?)
}

/// Sets (or with `None` removes) the branch's logo.
pub fn set_tx(tx: &Transaction, stamp: &Stamp, branch_id: &str, logo: Option<&Logo>) -> Result<()> {
    match logo {
        None => {
            tx.execute("DELETE FROM branch_logos WHERE branch_id = ?1", [branch_id])?;
        }
        Some(l) => {
            tx.execute(
                "INSERT INTO branch_logos (branch_id, media_type, width, height, bytes, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (branch_id) DO UPDATE SET media_type = excluded.media_type, width = excluded.width,
                     height = excluded.height, bytes = excluded.bytes, updated_at = excluded.updated_at",
                params![branch_id, l.media_type, l.width, l.height, l.bytes, stamp.at()],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A PNG header claiming `w`×`h`, and nothing after it.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    /// A whole RGB PNG of `w`×`h` pixels.
    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![200; (w * h * 3) as usize]).unwrap();
        writer.finish().unwrap();
        bytes
    }

    /// A PNG whose compressed image data is overwritten with garbage.
    fn png_with_damaged_data() -> Vec<u8> {
        let mut b = png(40, 20);
        let at = b.windows(4).position(|w| w == b"IDAT").unwrap() + 4;
        for byte in &mut b[at..at + 8] {
            *byte = 0x5A;
        }
        b
    }

    fn jpeg(w: u16, h: u16, components: u8) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8];
        b.extend(h.to_be_bytes());
        b.extend(w.to_be_bytes());
        b.extend([components, 1, 0x11, 0]);
        b.extend([0xFF, 0xDA, 0, 2, 0x12, 0x34, 0xFF, 0xD9]);
        b
    }

    #[test]
    fn logos_are_checked_by_their_content() {
        let ok = |t: &str| parse(t).map(|l| (l.media_type, l.width, l.height));
        assert_eq!(ok(&b64(&png(300, 120))), Ok(("image/png", 300, 120)), "a PNG");
        assert_eq!(
            ok(&format!("data:image/png;base64,{}", b64(&png(30, 12)))),
            Ok(("image/png", 30, 12)),
            "a data URL"
        );
        assert_eq!(ok(&b64(&jpeg(640, 200, 3))), Ok(("image/jpeg", 640, 200)), "an RGB JPEG");
        let refused = [
            ("not base64", "%%%".to_string()),
            ("a GIF", b64(b"GIF89a\x01\x00\x01\x00")),
            ("a PNG too wide", b64(&png(5000, 10))),
            ("a PNG of no pixels", b64(&png_header(0, 10))),
            ("a cut PNG", b64(&png(10, 10)[..20])),
            ("a PNG cut after its header", b64(&png_header(50, 50))),
            (
                "a PNG cut in its image data",
                b64(&{
                    let whole = png(40, 20);
                    whole[..whole.len() - 20].to_vec()
                }),
            ),
            ("a PNG whose image data is damaged", b64(&png_with_damaged_data())),
            ("a JPEG cut short", b64(&jpeg(10, 10, 3)[..24])),
            ("a CMYK JPEG", b64(&jpeg(10, 10, 4))),
            ("a JPEG without a frame", b64(&[0xFF, 0xD8, 0xFF, 0xD9])),
            ("too large", b64(&[png(10, 10), vec![0; MAX_BYTES]].concat())),
        ];
        for (name, text) in refused {
            assert!(parse(&text).is_err(), "{name} is refused");
        }
    }
}
