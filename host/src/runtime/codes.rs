//! The text codes of the standards' enums, as stored in the records store and
//! as written in FHIR: one table per enum, so storage and the API agree.

use crate::runtime::bindings::prescribing::care::prescribing::records::{
    Criticality, RequestIntent, RequestStatus,
};
use crate::runtime::bindings::prescribing::exports::care::prescribing::ordering::{
    CardCategory, Indicator,
};
use crate::runtime::bindings::scheduling::care::scheduling::records::{
    AppointmentStatus, DeliveryChannel, SlotStatus,
};
use crate::runtime::bindings::{IssueCode, Severity};

/// A WIT enum with a standard text code for each case.
pub trait Code: Sized + Copy + 'static {
    /// Every case with its code.
    const CODES: &'static [(Self, &'static str)];

    /// The case's code.
    fn code(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::CODES
            .iter()
            .find(|(case, _)| *case == self)
            .map(|(_, code)| *code)
            .unwrap_or("unknown")
    }

    /// The case for a code, if there is one.
    fn from_code(code: &str) -> Option<Self> {
        Self::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(case, _)| *case)
    }

    /// Every code, for error messages.
    fn all_codes() -> String {
        Self::CODES
            .iter()
            .map(|(_, c)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! codes {
    ($ty:ty { $($case:ident => $code:literal),* $(,)? }) => {
        impl Code for $ty {
            const CODES: &'static [(Self, &'static str)] = &[$((<$ty>::$case, $code)),*];
        }
    };
}

codes!(SlotStatus {
    Free => "free",
    Busy => "busy",
    BusyUnavailable => "busy-unavailable",
    BusyTentative => "busy-tentative",
    EnteredInError => "entered-in-error",
});

codes!(DeliveryChannel {
    InPerson => "In-person",
    Telephone => "Telephone",
    Video => "Video",
});

codes!(AppointmentStatus {
    Proposed => "proposed",
    Pending => "pending",
    Booked => "booked",
    Arrived => "arrived",
    Fulfilled => "fulfilled",
    Cancelled => "cancelled",
    Noshow => "noshow",
    EnteredInError => "entered-in-error",
    CheckedIn => "checked-in",
    Waitlist => "waitlist",
});

codes!(RequestStatus {
    Active => "active",
    OnHold => "on-hold",
    Cancelled => "cancelled",
    Completed => "completed",
    EnteredInError => "entered-in-error",
    Stopped => "stopped",
    Draft => "draft",
    Unknown => "unknown",
});

codes!(RequestIntent {
    Proposal => "proposal",
    Plan => "plan",
    Order => "order",
    OriginalOrder => "original-order",
    ReflexOrder => "reflex-order",
    FillerOrder => "filler-order",
    InstanceOrder => "instance-order",
    Option => "option",
});

codes!(Criticality {
    Low => "low",
    High => "high",
    UnableToAssess => "unable-to-assess",
});

codes!(Indicator {
    Info => "info",
    Warning => "warning",
    Critical => "critical",
});

codes!(CardCategory {
    Interaction => "interaction",
    DoseRange => "dose-range",
    Allergy => "allergy",
    DuplicateTherapy => "duplicate-therapy",
    Other => "other",
});

codes!(Severity {
    Fatal => "fatal",
    Error => "error",
    Warning => "warning",
    Information => "information",
});

codes!(IssueCode {
    Invalid => "invalid",
    Required => "required",
    Value => "value",
    NotFound => "not-found",
    Conflict => "conflict",
    BusinessRule => "business-rule",
    Forbidden => "forbidden",
    NotSupported => "not-supported",
    Duplicate => "duplicate",
    TooLong => "too-long",
    Processing => "processing",
    Exception => "exception",
    Timeout => "timeout",
});
