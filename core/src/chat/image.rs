//! What an upload is, by its first bytes, and the name it is stored and served under (C7).
//!
//! The browser's file name and `Content-Type` are the visitor's to choose, so neither decides
//! anything: the type comes from the file's signature (GIF, PNG, JPEG, WebP; anything else is
//! refused), the name is `<32 random hex digits>.<extension of that type>`, chosen by the server,
//! and `/gif/<name>` is served only for a name of exactly that shape, which can reach no other
//! file.

use std::fmt;

use super::GifName;

/// How many leading bytes [`ImageType::sniff`] needs at most (WebP's `RIFF....WEBP`).
pub const SNIFF_LEN: usize = 12;

/// How many random bytes make a stored name (128 bits: unguessable).
pub const STORED_NAME_RANDOM_BYTES: usize = 16;

/// The served path's prefix.
pub const GIF_PATH_PREFIX: &str = "/gif/";

/// The signatures: a type, its first bytes, and a mask where `.` lets any byte through.
const SIGNATURES: [(ImageType, &[u8], &[u8]); 5] = [
    (ImageType::Gif, b"GIF87a", b"xxxxxx"),
    (ImageType::Gif, b"GIF89a", b"xxxxxx"),
    (ImageType::Png, b"\x89PNG\r\n\x1a\n", b"xxxxxxxx"),
    (ImageType::Jpeg, b"\xff\xd8\xff", b"xxx"),
    (ImageType::Webp, b"RIFF\0\0\0\0WEBP", b"xxxx....xxxx"),
];

/// An image type accepted for upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageType {
    /// `GIF87a` or `GIF89a`.
    Gif,
    /// `\x89PNG\r\n\x1a\n`.
    Png,
    /// `FF D8 FF`.
    Jpeg,
    /// `RIFF`, four bytes of size, `WEBP`.
    Webp,
}

/// What the first bytes of an upload say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// An accepted image of this type.
    Image(ImageType),
    /// Too few bytes yet to tell: read on (up to [`SNIFF_LEN`]).
    NeedMore,
    /// Not an accepted image.
    Refused,
}

impl ImageType {
    const ALL: [ImageType; 4] = [
        ImageType::Gif,
        ImageType::Png,
        ImageType::Jpeg,
        ImageType::Webp,
    ];

    /// Tells the type from the first bytes of a file (all of it if it is shorter than
    /// [`SNIFF_LEN`]); `complete` says no more bytes will come.
    pub fn sniff(first: &[u8], complete: bool) -> Sniff {
        let mut undecided = false;
        for (kind, signature, mask) in SIGNATURES {
            let matches = signature
                .iter()
                .zip(mask)
                .zip(first)
                .all(|((want, mask), got)| *mask == b'.' || want == got);
            if matches {
                if first.len() >= signature.len() {
                    return Sniff::Image(kind);
                }
                undecided = true;
            }
        }
        if undecided && !complete {
            Sniff::NeedMore
        } else {
            Sniff::Refused
        }
    }

    /// The stored file's extension.
    pub const fn extension(self) -> &'static str {
        match self {
            ImageType::Gif => "gif",
            ImageType::Png => "png",
            ImageType::Jpeg => "jpg",
            ImageType::Webp => "webp",
        }
    }

    /// The `Content-Type` it is served with.
    pub const fn mime(self) -> &'static str {
        match self {
            ImageType::Gif => "image/gif",
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Webp => "image/webp",
        }
    }

    fn from_extension(extension: &str) -> Option<ImageType> {
        ImageType::ALL
            .into_iter()
            .find(|kind| kind.extension() == extension)
    }
}

impl fmt::Display for ImageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// An image as stored: its server-chosen name and its type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoredImage {
    name: GifName,
    kind: ImageType,
}

impl StoredImage {
    /// The name for a new upload of this type: the random bytes in hex, then the extension.
    pub fn new(random: [u8; STORED_NAME_RANDOM_BYTES], kind: ImageType) -> StoredImage {
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{hex}.{}", kind.extension());
        match GifName::parse(&name) {
            Some(name) => StoredImage { name, kind },
            None => unreachable!("hex digits, a dot and an extension make a safe name"),
        }
    }

    /// Checks a stored name (from a URL or the store): exactly 32 lower-case hex digits, a dot
    /// and one of our extensions; `None` for anything else.
    pub fn parse(name: &str) -> Option<StoredImage> {
        let (hex, extension) = name.split_once('.')?;
        let hex_ok = hex.len() == 2 * STORED_NAME_RANDOM_BYTES
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let kind = ImageType::from_extension(extension).filter(|_| hex_ok)?;
        Some(StoredImage {
            name: GifName::parse(name)?,
            kind,
        })
    }

    /// The image a request path `/gif/<name>` asks for; `None` for any other path, so a served
    /// file is always one the server named.
    pub fn from_path(path: &str) -> Option<StoredImage> {
        StoredImage::parse(path.strip_prefix(GIF_PATH_PREFIX)?)
    }

    /// The file name under the upload directory.
    pub fn name(&self) -> &GifName {
        &self.name
    }

    /// The type.
    pub fn kind(&self) -> ImageType {
        self.kind
    }

    /// The path it is served at, `/gif/<name>`.
    pub fn path(&self) -> String {
        format!("{GIF_PATH_PREFIX}{}", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_first_bytes() {
        let cases: [(&[u8], ImageType); 5] = [
            (b"GIF87a\x01\x00", ImageType::Gif),
            (b"GIF89a\x01\x00\x01\x00", ImageType::Gif),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", ImageType::Png),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", ImageType::Jpeg),
            (b"RIFF\x24\0\0\0WEBPVP8 ", ImageType::Webp),
        ];
        for (bytes, kind) in cases {
            assert_eq!(
                ImageType::sniff(bytes, true),
                Sniff::Image(kind),
                "{bytes:?}"
            );
            let head = &bytes[..bytes.len().min(SNIFF_LEN)];
            assert_eq!(ImageType::sniff(head, false), Sniff::Image(kind));
        }
    }

    #[test]
    fn anything_else_is_refused_whatever_its_name() {
        for bytes in [
            &b"GIF88a......"[..],
            b"<svg xmlns=",
            b"RIFF\0\0\0\0WAVEfmt ",
            b"\x89PNG\r\n\x1a\r",
            b"\xff\xd8\xfe",
            b"",
            b"<html>GIF89a",
        ] {
            assert_eq!(ImageType::sniff(bytes, true), Sniff::Refused, "{bytes:?}");
        }
    }

    #[test]
    fn a_prefix_of_a_signature_asks_for_more_until_the_end() {
        for bytes in [
            &b""[..],
            b"G",
            b"GIF8",
            b"\x89PN",
            b"\xff\xd8",
            b"RIFF\0\0\0\0WE",
        ] {
            assert_eq!(ImageType::sniff(bytes, false), Sniff::NeedMore, "{bytes:?}");
            assert_eq!(ImageType::sniff(bytes, true), Sniff::Refused, "{bytes:?}");
        }
        assert_eq!(ImageType::sniff(b"GX", false), Sniff::Refused);
    }

    #[test]
    fn the_stored_name_is_random_hex_and_the_types_extension() {
        let image = StoredImage::new([0xab; STORED_NAME_RANDOM_BYTES], ImageType::Webp);
        assert_eq!(image.name().as_str(), format!("{}.webp", "ab".repeat(16)));
        assert_eq!(image.path(), format!("/gif/{}.webp", "ab".repeat(16)));
        assert_eq!(StoredImage::from_path(&image.path()), Some(image.clone()));
        let jpeg = StoredImage::new([1; STORED_NAME_RANDOM_BYTES], ImageType::Jpeg);
        assert_eq!(jpeg.kind().mime(), "image/jpeg");
        assert!(jpeg.name().as_str().ends_with(".jpg"));
    }

    #[test]
    fn the_gif_path_reaches_nothing_but_server_named_images() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert!(StoredImage::from_path(&format!("/gif/{hex}.gif")).is_some());
        for bad in [
            format!("/gif/{hex}.GIF"),
            format!("/gif/{hex}.html"),
            format!("/gif/{hex}.gif.part"),
            format!("/gif/../{hex}.gif"),
            format!("/gif/{}.gif", hex.to_uppercase()),
            format!("/gif/{}.gif", &hex[1..]),
            format!("/gif/x{hex}.gif"),
            format!("/gif/.{hex}.gif"),
            format!("/gif/{hex}.gif/"),
            format!("/gif/%2e%2e/{hex}.gif"),
            format!("/gifs/{hex}.gif"),
            format!("gif/{hex}.gif"),
            "/gif/".to_owned(),
            "/gif/../../etc/passwd".to_owned(),
        ] {
            assert_eq!(StoredImage::from_path(&bad), None, "{bad:?}");
        }
    }
}
