//! Upload files in a temporary directory: pieces land on disk as they come, a complete image is
//! renamed to its server-chosen name, and anything refused or dropped leaves no file.

use std::fs;
use std::path::Path;

use gif_chat_core::chat::{GifName, ImageType, Sniff, StoredImage};
use gif_chat_io::upload::{UploadDir, UploadError, DEFAULT_UPLOAD_DIR, MAX_UPLOAD_BYTES};

const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01;";

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("{e}"));
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"))
}

#[test]
fn the_directory_is_created_if_missing() {
    let root = temp();
    let path = root.path().join("a/b").join(DEFAULT_UPLOAD_DIR);
    let dir = UploadDir::open(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(path.is_dir());
    assert_eq!(dir.path(), path);
    UploadDir::open(&path).unwrap_or_else(|e| panic!("opening again: {e}"));
}

#[test]
fn pieces_go_to_disk_as_they_come_and_a_complete_image_gets_its_name() {
    let root = temp();
    let dir = UploadDir::open(root.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut upload = dir
        .begin(MAX_UPLOAD_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(upload.sniff(), Sniff::NeedMore);
    for (i, piece) in GIF.chunks(3).enumerate() {
        upload.write(piece).unwrap_or_else(|e| panic!("{e}"));
        // On disk already, not held in memory: one temporary file, as long as what was written.
        let names = entries(root.path());
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].starts_with('.') && names[0].ends_with(".part"));
        assert!(
            StoredImage::parse(&names[0]).is_none(),
            "/gif/ cannot reach it"
        );
        let len = fs::metadata(root.path().join(&names[0])).map(|m| m.len());
        assert_eq!(len.ok(), Some(((i + 1) * 3).min(GIF.len()) as u64));
    }
    assert_eq!(upload.sniff(), Sniff::Image(ImageType::Gif));
    assert_eq!(upload.written(), GIF.len() as u64);
    let image = upload.commit([0x5a; 16]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(image.name().as_str(), format!("{}.gif", "5a".repeat(16)));
    assert_eq!(entries(root.path()), [image.name().as_str()]);
    assert_eq!(fs::read(dir.file_path(&image)).ok().as_deref(), Some(GIF));
}

#[test]
fn an_upload_over_the_limit_leaves_no_file() {
    let root = temp();
    let dir = UploadDir::open(root.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut upload = dir
        .begin(MAX_UPLOAD_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    upload.write(GIF).unwrap_or_else(|e| panic!("{e}"));
    let piece = vec![0u8; 64 * 1024];
    let mut refused = None;
    for _ in 0..=MAX_UPLOAD_BYTES / piece.len() as u64 {
        if let Err(error) = upload.write(&piece) {
            refused = Some(error);
            break;
        }
    }
    let error = refused.unwrap_or_else(|| panic!("5 MiB and more was accepted"));
    assert!(matches!(error, UploadError::TooLarge { limit } if limit == MAX_UPLOAD_BYTES));
    assert_eq!(error.status(), 413);
    assert!(upload.written() <= MAX_UPLOAD_BYTES);
    assert!(
        entries(root.path()).is_empty(),
        "removed at once, before the drop"
    );
    assert!(matches!(
        upload.write(b"x"),
        Err(UploadError::TooLarge { .. })
    ));
    assert!(matches!(
        upload.commit([1; 16]),
        Err(UploadError::TooLarge { .. })
    ));
    assert!(entries(root.path()).is_empty());
}

#[test]
fn exactly_the_limit_is_kept() {
    let root = temp();
    let dir = UploadDir::open(root.path()).unwrap_or_else(|e| panic!("{e}"));
    let limit = 1000;
    let mut upload = dir.begin(limit).unwrap_or_else(|e| panic!("{e}"));
    upload.write(GIF).unwrap_or_else(|e| panic!("{e}"));
    upload
        .write(&vec![0; limit as usize - GIF.len()])
        .unwrap_or_else(|e| panic!("{e}"));
    let image = upload.commit([2; 16]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fs::metadata(dir.file_path(&image)).map(|m| m.len()).ok(),
        Some(limit)
    );
}

#[test]
fn bytes_that_are_not_an_image_leave_no_file_whatever_they_are_called() {
    let root = temp();
    let dir = UploadDir::open(root.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut upload = dir
        .begin(MAX_UPLOAD_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    upload
        .write(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(upload.sniff(), Sniff::Refused);
    let error = upload.commit([3; 16]).err();
    assert!(matches!(error, Some(UploadError::NotAnImage)), "{error:?}");
    assert_eq!(error.map(|e| e.status()), Some(415));
    assert!(entries(root.path()).is_empty());

    let mut short = dir
        .begin(MAX_UPLOAD_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    short.write(b"GIF8").unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        short.commit([4; 16]),
        Err(UploadError::NotAnImage)
    ));
    assert!(entries(root.path()).is_empty());
}

#[test]
fn a_dropped_upload_leaves_no_file() {
    let root = temp();
    let dir = UploadDir::open(root.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut upload = dir
        .begin(MAX_UPLOAD_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    upload.write(GIF).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries(root.path()).len(), 1);
    drop(upload);
    assert!(entries(root.path()).is_empty());
}

#[test]
fn a_stored_image_can_be_removed_once() {
    let root = temp();
    let dir = UploadDir::open(root.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut upload = dir
        .begin(MAX_UPLOAD_BYTES)
        .unwrap_or_else(|e| panic!("{e}"));
    upload
        .write(b"\x89PNG\r\n\x1a\n....")
        .unwrap_or_else(|e| panic!("{e}"));
    let image = upload.commit([9; 16]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(image.kind(), ImageType::Png);
    assert_eq!(dir.remove(image.name()).ok(), Some(true));
    assert_eq!(dir.remove(image.name()).ok(), Some(false));
    let other = GifName::parse("never-stored.gif").unwrap_or_else(|| panic!("a name"));
    assert_eq!(dir.remove(&other).ok(), Some(false));
    assert!(entries(root.path()).is_empty());
}
