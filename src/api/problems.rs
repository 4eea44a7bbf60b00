//! The problem responses an endpoint can answer, declared once per kind of endpoint
//! rather than as tuples copied into every `#[utoipa::path]`. Each is an RFC 9457
//! problem document (`application/problem+json`, schema `Problem`).

use crate::error::Problem;

macro_rules! problems {
    ($($(#[$doc:meta])* $name:ident { $($variant:ident = $status:literal),* $(,)? })*) => {$(
        $(#[$doc])*
        #[derive(utoipa::IntoResponses)]
        #[allow(dead_code)]
        pub enum $name {
            $(
                #[response(status = $status, content_type = "application/problem+json")]
                $variant(Problem),
            )*
        }
    )*};
}

problems! {
    /// Reading one object: a token is needed, the object may not exist.
    ReadOne { Unauthorized = 401, NotFound = 404 }
    /// Reading one registry record a coordinator's organization may not govern.
    ScopedReadOne { Unauthorized = 401, Forbidden = 403, NotFound = 404 }
    /// Listing: a token is needed, filters may be refused.
    ListProblems { Unauthorized = 401, Invalid = 422 }
    /// A step on an existing task: who, which task, which state, what input.
    StepProblems { Unauthorized = 401, Forbidden = 403, NotFound = 404, WrongState = 409, Invalid = 422 }
    /// Creating an object.
    CreateProblems { Unauthorized = 401, Forbidden = 403, Conflict = 409, Invalid = 422 }
    /// Changing a versioned record under `If-Match`.
    UpdateProblems {
        Unauthorized = 401, Forbidden = 403, NotFound = 404, Conflict = 409,
        Stale = 412, Invalid = 422, IfMatchRequired = 428,
    }
    /// A write without an existing object to find.
    WriteProblems { Unauthorized = 401, Forbidden = 403, Invalid = 422 }
    /// A public read of one object: it may not exist (or not be published).
    PublicNotFound { NotFound = 404 }
    /// A public listing: filters may be refused.
    PublicInvalid { Invalid = 422 }
    /// Uploading a file.
    ImportProblems {
        Unauthorized = 401, Forbidden = 403, TooLarge = 413, UnsupportedType = 415, Invalid = 422,
    }
}
