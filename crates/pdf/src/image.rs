//! The branch logo as a PDF image: a JPEG goes in as it is (DCTDecode), a
//! PNG is decoded to 8-bit pixels and deflated, its alpha channel a soft
//! mask. Added to the first page after printpdf has built the document.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};
use pitlane_core::logo::Logo;

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut zip = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 2), Compression::default());
    zip.write_all(bytes).map_err(|e| format!("deflate: {e}"))?;
    zip.finish().map_err(|e| format!("deflate: {e}"))
}

fn image(width: u32, height: u32, colour: &str, filter: &str, bytes: Vec<u8>) -> Stream {
    let dict = Dictionary::from_iter(vec![
        ("Type", Object::Name(b"XObject".to_vec())),
        ("Subtype", Object::Name(b"Image".to_vec())),
        ("Width", Object::Integer(i64::from(width))),
        ("Height", Object::Integer(i64::from(height))),
        ("ColorSpace", Object::Name(colour.as_bytes().to_vec())),
        ("BitsPerComponent", Object::Integer(8)),
        ("Filter", Object::Name(filter.as_bytes().to_vec())),
    ]);
    Stream::new(dict, bytes)
}

/// The logo's image object (and its soft mask) added to `pdf`.
fn add_image(pdf: &mut Document, logo: &Logo) -> Result<ObjectId, String> {
    if logo.media_type == "image/jpeg" {
        let colour = if jpeg_components(&logo.bytes) == Some(1) { "DeviceGray" } else { "DeviceRGB" };
        return Ok(pdf.add_object(image(logo.width, logo.height, colour, "DCTDecode", logo.bytes.clone())));
    }
    let mut decoder = png::Decoder::new(std::io::Cursor::new(&logo.bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| format!("logo: {e}"))?;
    let size = reader.output_buffer_size().ok_or("logo: too large")?;
    let mut pixels = vec![0; size];
    let info = reader.next_frame(&mut pixels).map_err(|e| format!("logo: {e}"))?;
    pixels.truncate(info.buffer_size());
    let (channels, colour) = match info.color_type {
        png::ColorType::Grayscale => (1, "DeviceGray"),
        png::ColorType::GrayscaleAlpha => (2, "DeviceGray"),
        png::ColorType::Rgb => (3, "DeviceRGB"),
        png::ColorType::Rgba => (4, "DeviceRGB"),
        png::ColorType::Indexed => return Err("logo: palette left unexpanded".into()),
    };
    let has_alpha = channels % 2 == 0;
    let colour_channels = if has_alpha { channels - 1 } else { channels };
    let mut colours = Vec::with_capacity(pixels.len());
    let mut alpha = Vec::new();
    for px in pixels.chunks_exact(channels) {
        colours.extend_from_slice(&px[..colour_channels]);
        if has_alpha {
            alpha.push(px[colour_channels]);
        }
    }
    let mut stream = image(info.width, info.height, colour, "FlateDecode", deflate(&colours)?);
    if has_alpha && alpha.iter().any(|a| *a != 255) {
        let mask = pdf.add_object(image(info.width, info.height, "DeviceGray", "FlateDecode", deflate(&alpha)?));
        stream.dict.set("SMask", Object::Reference(mask));
    }
    Ok(pdf.add_object(stream))
}

/// The number of colour components in a JPEG's frame header.
fn jpeg_components(b: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 9 < b.len() {
        let marker = b[i + 1];
        if b[i] != 0xFF {
            return None;
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some(b[i + 9]);
        }
        i += 2 + usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
    }
    None
}

/// Draws `logo` on the first page in the box at `x`, `y` (bottom-left, pt)
/// of `w` × `h` pt.
pub(crate) fn place(pdf: &mut Document, logo: &Logo, (x, y, w, h): (f32, f32, f32, f32)) -> Result<(), String> {
    // `settings.update` decodes a logo before keeping it; one that still
    // cannot be read (kept by an older version) is left out rather than
    // costing the customer their invoice.
    let Ok(image) = add_image(pdf, logo) else {
        return Ok(());
    };
    let page = *pdf.get_pages().get(&1).ok_or("no first page")?;
    let drawing = format!("q {w:.2} 0 0 {h:.2} {x:.2} {y:.2} cm /PitlaneLogo Do Q\n").into_bytes();
    let content = pdf.add_object(Stream::new(Dictionary::new(), drawing));
    // The resources, inline in the page or referenced from it.
    let resources = match pdf.get_dictionary(page).map_err(|e| e.to_string())?.get(b"Resources") {
        Ok(Object::Reference(id)) => Some(*id),
        _ => None,
    };
    let dict = match resources {
        Some(id) => pdf.get_dictionary_mut(id),
        None => pdf.get_dictionary_mut(page).and_then(|p| p.get_mut(b"Resources")).and_then(|r| r.as_dict_mut()),
    }
    .map_err(|e| format!("page resources: {e}"))?;
    match dict.get_mut(b"XObject") {
        Ok(Object::Dictionary(x)) => x.set("PitlaneLogo", Object::Reference(image)),
        _ => dict.set("XObject", Dictionary::from_iter(vec![("PitlaneLogo", Object::Reference(image))])),
    }
    let page = pdf.get_dictionary_mut(page).map_err(|e| e.to_string())?;
    let contents = match page.get(b"Contents") {
        Ok(Object::Array(a)) => a.iter().cloned().chain([Object::Reference(content)]).collect(),
        Ok(other) => vec![other.clone(), Object::Reference(content)],
        Err(_) => vec![Object::Reference(content)],
    };
    page.set("Contents", Object::Array(contents));
    Ok(())
}
