//! Evidence (现场取证): photos, scans of the signed check form and PDFs attached to a drawn
//! institution's result by the departments that inspected it. Stored by SHA-256, never
//! public; every attachment is an audit entry whose payload digest is the file's SHA-256.

use super::{TaskError, TaskResult, finish, get, lock, policy, require_state};
use crate::auth::Principal;
use crate::domain::task::TaskState;
use crate::store::evidence::{self as store, EvidenceRow};
use crate::store::publication as results_store;
use crate::store::{Failure, Store, classify};
use sha2::{Digest, Sha256};

/// The kinds of file accepted, recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    Pdf,
}

/// The accepted types as a client declares them, for messages and the API description.
pub const ACCEPTED: &str = "image/jpeg, image/png, application/pdf";

impl MediaType {
    /// The declared `Content-Type` (parameters and case ignored).
    pub fn parse(declared: &str) -> Option<Self> {
        let essence = declared
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "application/pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// What the bytes are, by their magic number.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Pdf => "pdf",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "a JPEG image",
            Self::Png => "a PNG image",
            Self::Pdf => "a PDF document",
        }
    }
}

/// The most characters of a file name.
pub const MAX_FILENAME_CHARS: usize = 255;

/// A file name as stored and sent back in `Content-Disposition`: 1–255 characters, no
/// control characters, no path separators, not `.` or `..`.
pub fn check_filename(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("must not be blank".into());
    }
    if name.chars().count() > MAX_FILENAME_CHARS {
        return Err(format!("at most {MAX_FILENAME_CHARS} characters"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err("a file name without path separators or control characters".into());
    }
    if name == "." || name == ".." {
        return Err("not a file name".into());
    }
    Ok(name.to_string())
}

/// Checks that the bytes are what the client declared: not empty, and of the declared
/// type by their magic number.
pub fn check_content(declared: MediaType, bytes: &[u8]) -> TaskResult<()> {
    if bytes.is_empty() {
        return Err(TaskError::field("body", "the file is empty"));
    }
    match MediaType::sniff(bytes) {
        Some(t) if t == declared => Ok(()),
        Some(t) => Err(TaskError::field(
            "content-type",
            format!(
                "declared {} but the bytes are {} ({}); declare the file's real type",
                declared.as_str(),
                t.name(),
                t.as_str()
            ),
        )),
        None => Err(TaskError::field(
            "body",
            format!(
                "declared {} but the bytes are not {} (accepted: {ACCEPTED})",
                declared.as_str(),
                declared.name()
            ),
        )),
    }
}

/// An attachment: whether this call added the reference, and the reference.
pub struct Attached {
    pub created: bool,
    pub evidence: EvidenceRow,
}

/// The states in which a result (and so its evidence) can be recorded.
const RECORDING: &[TaskState] = &[TaskState::Drawn, TaskState::Published, TaskState::Closed];

async fn require_drawn(db: &Store, id: &str, institution: &str) -> TaskResult<()> {
    if results_store::is_selected(&mut *db.read().await?, id, institution).await? {
        Ok(())
    } else {
        Err(TaskError::NotFound(format!(
            "institution {institution} was not drawn in task {id}"
        )))
    }
}

/// Attaches a file to a drawn institution's result (admin, or a coordinator of the lead
/// or of a participating department; task `drawn`, `published` or `closed`). The same
/// bytes twice on the same result are one reference (the first file name kept): the
/// second call changes nothing and answers `created: false`. The same bytes on another
/// result are another reference to the one stored copy.
pub async fn attach(
    db: &Store,
    who: &Principal,
    id: &str,
    institution: &str,
    declared: MediaType,
    filename: Option<&str>,
    bytes: axum::body::Bytes,
) -> TaskResult<Attached> {
    let task = get(db, id).await?;
    policy::upload_evidence(who, &task.config)?;
    require_state(&task, RECORDING, "attach evidence")?;
    require_drawn(db, id, institution).await?;
    let filename = filename
        .map(|f| check_filename(f).map_err(|r| TaskError::field("filename", r)))
        .transpose()?;
    check_content(declared, &bytes)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if let Some(existing) = store::find(&mut *db.read().await?, id, institution, &sha256).await? {
        return Ok(Attached {
            created: false,
            evidence: existing,
        });
    }
    let filename =
        filename.unwrap_or_else(|| format!("{}.{}", &sha256[..16], declared.extension()));
    // The bytes are durable before anything refers to them.
    db.put_evidence_file(&sha256, bytes.clone()).await?;
    let mut tx = db.begin().await?;
    let task = lock(&mut tx, id).await?;
    require_state(&task, RECORDING, "attach evidence")?;
    store::put_blob(&mut tx, db.evidence_dir().is_none(), &sha256, &bytes).await?;
    let inserted = store::insert(
        &mut tx,
        id,
        institution,
        &sha256,
        bytes.len() as i64,
        declared.as_str(),
        &filename,
        &who.actor(),
    )
    .await;
    match inserted {
        Ok(()) => {}
        // A concurrent upload of the same bytes to the same result won.
        Err(e) if classify(&e) == Failure::UniqueViolation => {
            drop(tx);
            let existing = store::find(&mut *db.read().await?, id, institution, &sha256)
                .await?
                .ok_or_else(|| TaskError::internal("evidence reference vanished"))?;
            return Ok(Attached {
                created: false,
                evidence: existing,
            });
        }
        Err(e) => return Err(e.into()),
    }
    // The entry's payload digest is the file's SHA-256: the audit log names the evidence.
    finish(tx, who, "evidence.attach", id, &sha256).await?;
    tracing::info!(task = %id, institution = %institution, sha256 = %sha256, "evidence attached");
    let evidence = store::find(&mut *db.read().await?, id, institution, &sha256)
        .await?
        .ok_or_else(|| TaskError::internal("evidence reference not found after commit"))?;
    Ok(Attached {
        created: true,
        evidence,
    })
}

/// The evidence of one drawn institution's result, oldest first (admin, auditor, or a
/// coordinator of the task's departments).
pub async fn list(
    db: &Store,
    who: &Principal,
    id: &str,
    institution: &str,
) -> TaskResult<Vec<EvidenceRow>> {
    let task = get(db, id).await?;
    policy::read_evidence(who, &task.config)?;
    require_drawn(db, id, institution).await?;
    Ok(store::list(&mut *db.read().await?, id, Some(institution)).await?)
}

/// Every piece of evidence of a task when the caller may read it; `None` otherwise (for
/// views that show evidence only to its readers).
pub async fn of_task_for(
    db: &Store,
    who: &Principal,
    id: &str,
) -> TaskResult<Option<Vec<EvidenceRow>>> {
    let task = get(db, id).await?;
    if policy::read_evidence(who, &task.config).is_err() {
        return Ok(None);
    }
    Ok(Some(store::list(&mut *db.read().await?, id, None).await?))
}

/// One piece of evidence with its bytes (admin, auditor, or a coordinator of the task's
/// departments).
pub async fn download(
    db: &Store,
    who: &Principal,
    id: &str,
    institution: &str,
    sha256: &str,
) -> TaskResult<(EvidenceRow, Vec<u8>)> {
    let task = get(db, id).await?;
    policy::read_evidence(who, &task.config)?;
    let not_found = || {
        TaskError::NotFound(format!(
            "no evidence {sha256} on the result of institution {institution} in task {id}"
        ))
    };
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(TaskError::field(
            "sha256",
            "64 lowercase hexadecimal characters",
        ));
    }
    let row = store::find(&mut *db.read().await?, id, institution, sha256)
        .await?
        .ok_or_else(not_found)?;
    let bytes = db.evidence_bytes(sha256).await?.ok_or_else(|| {
        TaskError::internal(format!("the bytes of evidence {sha256} are missing"))
    })?;
    Ok((row, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_numbers_and_checks_the_declared_type() {
        assert_eq!(
            MediaType::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            MediaType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(MediaType::Png)
        );
        assert_eq!(MediaType::sniff(b"%PDF-1.7"), Some(MediaType::Pdf));
        assert_eq!(MediaType::sniff(b"GIF89a"), None);
        assert_eq!(
            MediaType::parse("Image/JPEG; charset=binary"),
            Some(MediaType::Jpeg)
        );
        assert_eq!(MediaType::parse("image/gif"), None);
        assert!(check_content(MediaType::Pdf, b"%PDF-1.4 x").is_ok());
        assert!(check_content(MediaType::Pdf, b"").is_err());
        assert!(check_content(MediaType::Jpeg, b"%PDF-1.4").is_err());
        assert!(check_content(MediaType::Png, b"hello").is_err());
    }

    #[test]
    fn file_names_are_plain() {
        assert_eq!(check_filename(" 核查表.pdf ").unwrap(), "核查表.pdf");
        assert!(check_filename("../etc/passwd").is_err());
        assert!(check_filename("a\nb").is_err());
        assert!(check_filename("").is_err());
        assert!(check_filename(&"x".repeat(256)).is_err());
    }
}
