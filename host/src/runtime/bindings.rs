//! Host-side bindings of the standards' provider worlds, generated from `wit/`.
//!
//! `care:types` is generated once, with the scheduling world, and shared with
//! the prescribing world, so one `Outcome` type and one implementation of the
//! shared host interfaces serve every standard.
//!
//! The worlds include `wasi:cli/imports`; those interfaces are not generated
//! here but mapped to `wasmtime_wasi`'s own bindings, which the host links
//! (see `interfaces::wasi`). Each path is a standard's WIT package directory,
//! whose `deps` hold `care:types` and WASI.
//!
//! The host uses the generated bindings for the imports and the types; each
//! standard release's exported functions are declared here once more, with
//! those types, as an export set (`booking`, `booking_0_1`, `ordering`),
//! which [`super::export`] checks once per deployment instead of on every
//! instance.

/// `care:scheduling/scheduling-provider`.
pub mod scheduling {
    wasmtime::component::bindgen!({
        world: "care:scheduling/scheduling-provider",
        path: "../wit/scheduling",
        imports: { default: trappable },
        additional_derives: [PartialEq],
        with: { "wasi": wasmtime_wasi::p2::bindings::sync },
    });
}

/// `care:scheduling/scheduling-provider@0.1.0`, the scheduling standard's
/// first release, still served: its calls are adapted to the newest release
/// (`interfaces::scheduling_0_1`).
pub mod scheduling_0_1 {
    wasmtime::component::bindgen!({
        world: "care:scheduling/scheduling-provider",
        path: "../wit/scheduling-0.1.0",
        imports: { default: trappable },
        additional_derives: [PartialEq],
        with: {
            "care:types": super::scheduling::care::types,
            "wasi": wasmtime_wasi::p2::bindings::sync,
        },
    });
}

/// `care:prescribing/prescribing-provider`.
pub mod prescribing {
    wasmtime::component::bindgen!({
        world: "care:prescribing/prescribing-provider",
        path: "../wit/prescribing",
        imports: { default: trappable },
        additional_derives: [PartialEq],
        with: {
            "care:types": super::scheduling::care::types,
            "wasi": wasmtime_wasi::p2::bindings::sync,
        },
    });
}

/// The functions of `care:scheduling/booking` in the types of one release's
/// bindings (`$release`): the releases so far differ in their types, not in
/// their functions.
macro_rules! booking_set {
    ($release:ident) => {
        use super::Outcome;
        use super::$release::care::scheduling::records::{Appointment, Slot};
        use super::$release::exports::care::scheduling::booking::{
            Amendment, BookingRequest, SlotSearch,
        };

        crate::runtime::export::export_set! {
            /// `care:scheduling/booking`'s functions.
            Booking {
                /// `find-free-slots`.
                find_free_slots: FindFreeSlots = "find-free-slots"
                    for<'a> (&'a SlotSearch) -> Result<Vec<Slot>, Outcome>;
                /// `book`.
                book: Book = "book" for<'a> (&'a BookingRequest) -> Result<Appointment, Outcome>;
                /// `cancel`.
                cancel: Cancel = "cancel"
                    for<'a> (&'a str, &'a str) -> Result<Appointment, Outcome>;
                /// `amend`.
                amend: Amend = "amend"
                    for<'a> (&'a str, &'a Amendment) -> Result<Appointment, Outcome>;
                /// `read`.
                read: Read = "read" for<'a> (&'a str) -> Result<Appointment, Outcome>;
                /// `appointments-for-patient`.
                appointments_for_patient: AppointmentsForPatient = "appointments-for-patient"
                    for<'a> (&'a str) -> Result<Vec<Appointment>, Outcome>;
            }
        }
    };
}

/// The functions of `care:scheduling/booking`, the newest release, as the
/// host calls them in a module's instance (see [`super::export`]).
pub mod booking {
    booking_set!(scheduling);
}

/// The functions of `care:scheduling/booking@0.1.0`, the first release.
pub mod booking_0_1 {
    booking_set!(scheduling_0_1);
}

/// The functions of `care:prescribing/ordering`.
pub mod ordering {
    use super::Outcome;
    use super::prescribing::care::prescribing::records::MedicationRequest;
    use super::prescribing::exports::care::prescribing::ordering::{Card, Draft, Issued};

    crate::runtime::export::export_set! {
        /// `care:prescribing/ordering`.
        Ordering {
            /// `check`.
            check: Check = "check" for<'a> (&'a Draft) -> Result<Vec<Card>, Outcome>;
            /// `issue`.
            issue: Issue = "issue"
                for<'a> (&'a Draft, Option<&'a str>) -> Result<Issued, Outcome>;
            /// `cancel`.
            cancel: Cancel = "cancel"
                for<'a> (&'a str, &'a str) -> Result<MedicationRequest, Outcome>;
            /// `read`.
            read: Read = "read" for<'a> (&'a str) -> Result<MedicationRequest, Outcome>;
            /// `active`.
            active: Active = "active" for<'a> (&'a str) -> Result<Vec<MedicationRequest>, Outcome>;
        }
    }
}

pub use scheduling::care::types::types::{
    Coding, Issue, IssueCode, Outcome, Period, Reference, Severity,
};

impl Outcome {
    /// An outcome with one error issue.
    pub fn error(code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Outcome {
            issues: vec![Issue {
                severity: Severity::Error,
                code,
                diagnostics: diagnostics.into(),
                expression: None,
            }],
        }
    }

    /// The code of the first issue; `exception` if there is none.
    pub fn code(&self) -> IssueCode {
        self.issues
            .first()
            .map(|i| i.code)
            .unwrap_or(IssueCode::Exception)
    }
}

impl Outcome {
    /// Every issue's diagnostics, joined: the text for a person.
    pub fn diagnostics(&self) -> String {
        let texts: Vec<&str> = self.issues.iter().map(|i| i.diagnostics.as_str()).collect();
        texts.join("; ")
    }
}
