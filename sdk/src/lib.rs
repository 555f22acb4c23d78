//! # The care module SDK
//!
//! Everything a supplier's developer needs to write a module for the open
//! care standards in Rust, for the `wasm32-wasip2` target:
//!
//! - the generated bindings of each standard's provider world, behind a
//!   feature of the same name (`scheduling`, `prescribing`), with a `prelude`
//!   that brings the types and the `Guest` trait into scope and an `export!`
//!   macro that registers the module's implementation (on `wasm32`; the same
//!   crate builds natively for tests);
//! - helpers every module needs: NHS number validation ([`nhs`]), SNOMED CT
//!   identifier checks and code systems ([`coding`]), and time arithmetic on
//!   the standards' millisecond instants ([`time`]).
//!
//! The helpers have no dependencies and also build for the host, which uses
//! the same checks, so a module and the host never disagree on what is valid.
//! See the crate's README for a complete module.

// The generated bindings name this crate by its public path, also from inside.
extern crate self as patchbay_sdk;

pub mod coding;
pub mod nhs;
pub mod time;

/// The README's complete module, compiled as a doctest so it stays true.
#[cfg(all(doctest, feature = "scheduling"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

#[cfg(any(feature = "scheduling", feature = "prescribing"))]
#[doc(hidden)]
pub use wit_bindgen;

/// Bindings for `care:scheduling/scheduling-provider`: a scheduling module exports
/// `booking` and imports the organisation's records.
#[cfg(feature = "scheduling")]
pub mod scheduling {
    wit_bindgen::generate!({
        world: "care:scheduling/scheduling-provider",
        path: ["../wit/types", "../wit/scheduling"],
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "patchbay_sdk::scheduling",
        runtime_path: "patchbay_sdk::wit_bindgen::rt",
        additional_derives: [PartialEq],
        generate_all,
    });

    include!("world_helpers.rs");

    pub mod ops;

    /// Registers a type implementing [`prelude::Guest`] as the module's
    /// `care:scheduling/booking` export. It takes effect on `wasm32` only, so
    /// the same crate also builds natively for tests and benchmarks.
    #[macro_export]
    macro_rules! export_scheduling {
        ($ty:ident) => {
            #[cfg(target_arch = "wasm32")]
            $crate::scheduling::export_bindings!($ty);
        };
    }
    pub use export_scheduling as export;

    /// What a scheduling module needs in scope: the shared types, the
    /// records and booking types, the host imports and the `Guest` trait.
    pub mod prelude {
        pub use super::care::scheduling::records::{
            self, Appointment, AppointmentStatus, DeliveryChannel, NewAppointment, Schedule, Slot,
            SlotQuery, SlotStatus,
        };
        pub use super::care::types::context;
        pub use super::care::types::patients::{self, Patient};
        pub use super::care::types::types::{
            Coding, Instant, Issue, IssueCode, NhsNumber, Outcome, Period, Reference, Severity,
        };
        pub use super::exports::care::scheduling::booking::{
            Amendment, BookingRequest, Guest, SlotSearch,
        };
    }
}

/// Bindings for `care:prescribing/prescribing-provider`: a prescribing module exports
/// `ordering` and imports the patient's medication and allergies.
#[cfg(feature = "prescribing")]
pub mod prescribing {
    wit_bindgen::generate!({
        world: "care:prescribing/prescribing-provider",
        path: ["../wit/types", "../wit/prescribing"],
        pub_export_macro: true,
        export_macro_name: "export_bindings",
        default_bindings_module: "patchbay_sdk::prescribing",
        runtime_path: "patchbay_sdk::wit_bindgen::rt",
        additional_derives: [PartialEq],
        generate_all,
    });

    include!("world_helpers.rs");

    /// Registers a type implementing [`prelude::Guest`] as the module's
    /// `care:prescribing/ordering` export. It takes effect on `wasm32` only,
    /// so the same crate also builds natively for tests and benchmarks.
    #[macro_export]
    macro_rules! export_prescribing {
        ($ty:ident) => {
            #[cfg(target_arch = "wasm32")]
            $crate::prescribing::export_bindings!($ty);
        };
    }
    pub use export_prescribing as export;

    /// What a prescribing module needs in scope: the shared types, the
    /// records and ordering types, the host imports and the `Guest` trait.
    pub mod prelude {
        pub use super::care::prescribing::records::{
            self, Allergy, Criticality, Dosage, MedicationRequest, NewRequest, RequestIntent,
            RequestStatus,
        };
        pub use super::care::types::context;
        pub use super::care::types::patients::{self, Patient};
        pub use super::care::types::types::{
            Coding, Instant, Issue, IssueCode, NhsNumber, Outcome, Reference, Severity,
        };
        pub use super::exports::care::prescribing::ordering::{
            Card, CardCategory, Draft, Guest, Indicator, Issued, Source, SuggestedAction,
            Suggestion,
        };
    }
}
