//! Bindings for `care:scheduling/scheduling-provider@0.1.0`, the scheduling
//! standard's first release, for a module that has not moved to the newest
//! yet: the same [`ops`] as the newest release's, over
//! that release's records (hosts that serve both adapt its calls). Build
//! against [`crate::scheduling`] unless a host you serve has not moved.

// The world under a name of its own: wit-bindgen names the export macro's
// helper after the world, and the newest release's world has the same name.
// A component carries its imports and exports, not its world's name.
provider_bindings!(
    source: {
        inline: "
            package patchbay:sdk;
            world scheduling-provider-0-1 {
                include care:scheduling/scheduling-provider@0.1.0;
            }
        ",
        path: "../wit/scheduling-0.1.0"
    },
    "patchbay_sdk::scheduling_0_1"
);

include!("world_helpers.rs");

// The newest release's operations, compiled again over this release's
// bindings (through `reads`): one source for both releases' behaviour.
#[allow(clippy::duplicate_mod)]
#[path = "scheduling/ops.rs"]
pub mod ops;
#[path = "scheduling/reads_0_1.rs"]
pub mod reads;

/// Registers a type implementing [`prelude::Guest`] as the module's
/// `care:scheduling/booking@0.1.0` export, on `wasm32` only.
#[macro_export]
macro_rules! export_scheduling_0_1 {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::scheduling_0_1::export_bindings!($ty);
    };
}
pub use export_scheduling_0_1 as export;

/// What a module of the first release needs in scope.
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
