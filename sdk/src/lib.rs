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

#[cfg(any(
    feature = "scheduling",
    feature = "scheduling-0-1",
    feature = "prescribing"
))]
#[doc(hidden)]
pub use wit_bindgen;

/// WASI 0.2, which every provider world includes (`wasi:cli/imports`): the
/// `wasip2` crate's bindings, of the same WASI release as the worlds. A
/// module may use them (or the standard library, which uses WASI itself); a
/// host grants nothing through them unless the deployment says so.
#[cfg(any(
    feature = "scheduling",
    feature = "scheduling-0-1",
    feature = "prescribing"
))]
pub use wasip2 as wasi;

/// Generates a provider world's bindings from its standard's WIT package
/// directory. The worlds include `wasi:cli/imports`; its interfaces are taken
/// from the `wasip2` crate rather than generated again, so every world and
/// the supplier's own code share one WASI, and nothing here is derived for
/// WASI's resources. wit-bindgen refuses a key missing from, or unused by,
/// the world, so this list cannot drift from the WIT unnoticed.
///
/// `source` is wit-bindgen's: the world and its WIT directory, or an inline
/// world over a directory.
#[cfg(any(
    feature = "scheduling",
    feature = "scheduling-0-1",
    feature = "prescribing"
))]
macro_rules! provider_bindings {
    ($world:tt, $path:tt, $module:tt) => {
        provider_bindings!(source: { world: $world, path: $path }, $module);
    };
    (source: { $($source:tt)* }, $module:tt) => {
        wit_bindgen::generate!({
            $($source)*,
            pub_export_macro: true,
            export_macro_name: "export_bindings",
            default_bindings_module: $module,
            runtime_path: "patchbay_sdk::wit_bindgen::rt",
            additional_derives: [PartialEq],
            with: {
                "wasi:cli/environment@0.2.12": wasip2::cli::environment,
                "wasi:cli/exit@0.2.12": wasip2::cli::exit,
                "wasi:cli/stdin@0.2.12": wasip2::cli::stdin,
                "wasi:cli/stdout@0.2.12": wasip2::cli::stdout,
                "wasi:cli/stderr@0.2.12": wasip2::cli::stderr,
                "wasi:cli/terminal-input@0.2.12": wasip2::cli::terminal_input,
                "wasi:cli/terminal-output@0.2.12": wasip2::cli::terminal_output,
                "wasi:cli/terminal-stdin@0.2.12": wasip2::cli::terminal_stdin,
                "wasi:cli/terminal-stdout@0.2.12": wasip2::cli::terminal_stdout,
                "wasi:cli/terminal-stderr@0.2.12": wasip2::cli::terminal_stderr,
                "wasi:io/error@0.2.12": wasip2::io::error,
                "wasi:io/poll@0.2.12": wasip2::io::poll,
                "wasi:io/streams@0.2.12": wasip2::io::streams,
                "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
                "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
                "wasi:filesystem/types@0.2.12": wasip2::filesystem::types,
                "wasi:filesystem/preopens@0.2.12": wasip2::filesystem::preopens,
                "wasi:sockets/network@0.2.12": wasip2::sockets::network,
                "wasi:sockets/instance-network@0.2.12": wasip2::sockets::instance_network,
                "wasi:sockets/udp@0.2.12": wasip2::sockets::udp,
                "wasi:sockets/udp-create-socket@0.2.12": wasip2::sockets::udp_create_socket,
                "wasi:sockets/tcp@0.2.12": wasip2::sockets::tcp,
                "wasi:sockets/tcp-create-socket@0.2.12": wasip2::sockets::tcp_create_socket,
                "wasi:sockets/ip-name-lookup@0.2.12": wasip2::sockets::ip_name_lookup,
                "wasi:random/random@0.2.12": wasip2::random::random,
                "wasi:random/insecure@0.2.12": wasip2::random::insecure,
                "wasi:random/insecure-seed@0.2.12": wasip2::random::insecure_seed,
            },
            generate_all,
        });
    };
}

/// Bindings for `care:scheduling/scheduling-provider`, the scheduling
/// standard's newest release (0.2.0): a scheduling module exports `booking`
/// and imports the organisation's records.
#[cfg(feature = "scheduling")]
pub mod scheduling {
    provider_bindings!(
        "care:scheduling/scheduling-provider",
        "../wit/scheduling",
        "patchbay_sdk::scheduling"
    );

    include!("world_helpers.rs");

    pub mod ops;
    pub mod reads;

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
            self, Appointment, AppointmentQuery, AppointmentStatus, DeliveryChannel,
            NewAppointment, Schedule, Slot, SlotQuery, SlotStatus,
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

/// The scheduling standard's first release, 0.1.0 (see the file).
#[cfg(feature = "scheduling-0-1")]
pub mod scheduling_0_1;

/// Bindings for `care:prescribing/prescribing-provider`: a prescribing module exports
/// `ordering` and imports the patient's medication and allergies.
#[cfg(feature = "prescribing")]
pub mod prescribing {
    provider_bindings!(
        "care:prescribing/prescribing-provider",
        "../wit/prescribing",
        "patchbay_sdk::prescribing"
    );

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
