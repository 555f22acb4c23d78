//! FHIR scheduling routes: `GET Slot`, `POST Appointment` (book),
//! `GET Appointment/{id}`, `GET Appointment?patient=`, and `PUT
//! Appointment/{id}` to cancel (status `cancelled` with a reason) or amend
//! (description, comment, slot), as GP Connect does. All go to the caller's
//! organisation's active scheduling module.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::Value;

use crate::api::blocking::{module_call, store_read};
use crate::api::error::ApiError;
use crate::api::fhir::{self, AppointmentChange};
use crate::api::identity::{Principal, Role};
use crate::api::responses::{created, fhir_json, json_error, with_etag};
use crate::api::route_spec::{Answer, Header, Param, RequestBody, RouteSpec};
use crate::api::state::AppState;
use crate::runtime::bindings::{IssueCode, Period};
use crate::runtime::function_slot::RouteKey;
use crate::runtime::interfaces::scheduling_records;
use crate::runtime::scheduling::SlotSearch;

const BOOKERS: &[Role] = &[Role::Clinician, Role::Receptionist, Role::Patient];

/// The widest slot search, in days.
pub const MAX_SEARCH_DAYS: i64 = 31;

/// The most slots one search returns.
pub const MAX_COUNT: u32 = 100;

/// The scheduling routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Slot",
            summary: "Search free slots: start=ge<date>, end=le<date>, service-type, schedule, status=free, _count",
            roles: BOOKERS,
            params: vec![
                Param::text("start", "From: a FHIR date or dateTime, prefix ge or gt (default now)")
                    .pattern(DATE_PARAM),
                Param::text("end", "To: a FHIR date or dateTime, prefix le or lt (default start + 7 days; at most 31 days after start)")
                    .pattern(DATE_PARAM),
                Param::text("service-type", "A service type code (SNOMED CT), optionally system|code"),
                Param::text("schedule", "A schedule: Schedule/<id> or <id>"),
                Param::text("status", "Only free slots can be searched").one_of(&["free"]),
                Param::integer("_count", "At most this many slots", 0, MAX_COUNT.into()),
            ],
            body: None,
            answers: Answer::calling_a_module(vec![Answer::fhir(200, "SlotBundle", "The free slots")]),
            handler: get(search_slots),
        },
        RouteSpec {
            method: Method::POST,
            path: "/fhir/Appointment",
            summary: "Book an appointment in a slot for a patient (by NHS number)",
            roles: BOOKERS,
            params: vec![],
            body: RequestBody::fhir("AppointmentBooking"),
            answers: Answer::calling_a_module(vec![
                Answer::fhir(201, "Appointment", "Booked").with_headers(&[Header::Location, Header::ETag]),
                Answer::outcome(409, "The slot is no longer free"),
            ]),
            handler: post(book),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Appointment",
            summary: "A patient's appointments: patient=<NHS number> or patient:identifier=https://fhir.nhs.uk/Id/nhs-number|<NHS number>; or, for staff, a day's: date=YYYY-MM-DD[&schedule=…]",
            roles: BOOKERS,
            params: {
                let mut params = patient_params();
                params.push(
                    Param::text(
                        "date",
                        "Staff, instead of a patient: every appointment starting on this day (UTC), any status, by start time",
                    )
                    .pattern("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
                );
                params.push(Param::text(
                    "schedule",
                    "With date: only this schedule's (Schedule/<id> or <id>)",
                ));
                params
            },
            body: None,
            answers: Answer::calling_a_module(vec![Answer::fhir(200, "AppointmentBundle", "The patient's appointments")]),
            handler: get(search_appointments),
        },
        RouteSpec {
            method: Method::GET,
            path: "/fhir/Appointment/{id}",
            summary: "Read an appointment",
            roles: BOOKERS,
            params: vec![],
            body: None,
            answers: Answer::calling_a_module(vec![
                Answer::fhir(200, "Appointment", "The appointment").with_headers(&[Header::ETag]),
            ]),
            handler: get(read),
        },
        RouteSpec {
            method: Method::PUT,
            path: "/fhir/Appointment/{id}",
            summary: "Cancel (status cancelled with cancelationReason) or amend (description, comment, slot) an appointment",
            roles: BOOKERS,
            params: vec![],
            body: RequestBody::fhir("AppointmentChange"),
            answers: Answer::calling_a_module(vec![
                Answer::fhir(200, "Appointment", "Cancelled or amended").with_headers(&[Header::ETag]),
                Answer::outcome(412, "If-Match names a version that is no longer current"),
                Answer::outcome(422, "A cancelled or past appointment cannot change"),
            ]),
            handler: put(update),
        },
    ]
}

/// What a date search parameter looks like: an optional two-letter prefix,
/// then a FHIR date or dateTime with a zone.
const DATE_PARAM: &str = "^([a-z]{2})?[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$";

/// The ways a search names its patient.
pub fn patient_params() -> Vec<Param> {
    vec![
        Param::text(
            "patient",
            "The patient's NHS number (one of patient, patient:identifier, subject, subject:identifier is needed)",
        ),
        Param::text(
            "patient:identifier",
            "https://fhir.nhs.uk/Id/nhs-number|<NHS number>",
        ),
    ]
}

/// A FHIR search date parameter with an optional prefix.
fn date_param(value: &str, name: &str, allowed: &[&str]) -> Result<i64, ApiError> {
    let (prefix, text) = match value.get(..2) {
        Some(p) if p.chars().all(|c| c.is_ascii_alphabetic()) => (p, &value[2..]),
        _ => ("eq", value),
    };
    if prefix != "eq" && !allowed.contains(&prefix) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!(
                "the {name} parameter takes the prefix {}, not '{prefix}'",
                allowed.join(" or ")
            ),
        ));
    }
    fhir::parse_instant(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("'{text}' in {name} is not a FHIR date or dateTime (e.g. 2026-11-23 or 2026-11-23T09:00:00Z)"),
        )
    })
}

/// A slot search from its parameters; `limited` hears which of the host's
/// limits refused it, if one did.
fn slot_search(
    params: &HashMap<String, String>,
    now: i64,
    limited: impl Fn(&'static str),
) -> Result<SlotSearch, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, m);
    let start = match params.get("start") {
        Some(v) => date_param(v, "start", &["ge", "gt"])?,
        None => now,
    };
    let end = match params.get("end") {
        Some(v) => date_param(v, "end", &["le", "lt"])?,
        None => start + 7 * patchbay_sdk::time::DAY,
    };
    if end - start > MAX_SEARCH_DAYS * patchbay_sdk::time::DAY {
        limited("search-window");
        return Err(bad(format!(
            "a slot search covers at most {MAX_SEARCH_DAYS} days: narrow start and end"
        )));
    }
    if let Some(status) = params.get("status").filter(|s| *s != "free") {
        return Err(bad(format!(
            "only free slots can be searched (status=free), not '{status}'"
        )));
    }
    let limit = match params.get("_count") {
        Some(c) => Some(
            c.parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_COUNT)
                .ok_or_else(|| {
                    limited("count");
                    bad(format!(
                        "_count must be a whole number from 0 to {MAX_COUNT}, not '{c}'"
                    ))
                })?,
        ),
        None => None,
    };
    let service_type = params
        .get("service-type")
        .map(|s| s.rsplit('|').next().unwrap_or(s).to_string());
    let schedule_id = params
        .get("schedule")
        .map(|s| s.strip_prefix("Schedule/").unwrap_or(s).to_string());
    Ok(SlotSearch {
        period: Period { start, end },
        service_type,
        schedule_id,
        limit,
    })
}

async fn search_slots(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "slot.search", BOOKERS).await?;
    let result = async {
        let ctx = act.call_context();
        let metrics = state.runtime.metrics();
        let search = slot_search(&params, ctx.now, |limit| {
            metrics.record_limit(&ctx.organisation, limit)
        })?;
        let api = state.runtime.booking_for(ctx, act.route_key())?;
        act.module = Some(api.deployment().module.label.to_string());
        let slots = module_call(move || api.find_free_slots(&search)).await?;
        let base = state.config.fhir_base();
        Ok(fhir_json(fhir::searchset(
            &base,
            slots.iter().map(fhir::slot).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

async fn book(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "appointment.book", BOOKERS).await?;
    let result = async {
        let Json(body) = body.map_err(json_error)?;
        let request = fhir::booking_request(&body)?;
        act.patient = Some(request.patient.clone());
        act.resource = Some(format!("Slot/{}", request.slot_id));
        act.check_patient(&request.patient)?;
        let key = RouteKey::Patient(request.patient.clone());
        let api = state.runtime.booking_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let api = api.audited(act.on_commit());
        let appointment = module_call(move || api.book(&request)).await?;
        act.resource = Some(format!("Appointment/{}", appointment.id));
        Ok(created(
            &state.config.fhir_base(),
            "Appointment",
            &appointment.id,
            appointment.version,
            fhir::appointment(&appointment),
        ))
    }
    .await;
    act.finish(result).await
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "appointment.read", BOOKERS).await?;
    act.resource = Some(format!("Appointment/{id}"));
    let result = async {
        let key = RouteKey::Appointment(id.clone());
        let api = state.runtime.booking_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let read_id = id.clone();
        let found = module_call(move || api.read(&read_id)).await;
        if let Ok(appointment) = &found {
            act.patient = Some(appointment.patient.clone());
        }
        let appointment = act.patients_own("Appointment", &id, found, |a| &a.patient)?;
        Ok(with_etag(
            fhir_json(fhir::appointment(&appointment)),
            appointment.version,
        ))
    }
    .await;
    act.finish(result).await
}

/// The NHS number from `patient=…` or `patient:identifier=system|value`.
pub fn patient_param(params: &HashMap<String, String>) -> Result<String, ApiError> {
    let value = params
        .get("patient")
        .or_else(|| params.get("patient:identifier"))
        .or_else(|| params.get("subject:identifier"))
        .or_else(|| params.get("subject"))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Required,
                "give the patient: patient=<NHS number>",
            )
        })?;
    Ok(value.rsplit('|').next().unwrap_or(value).to_string())
}

async fn search_appointments(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "appointment.search", BOOKERS).await?;
    let names_a_patient = [
        "patient",
        "patient:identifier",
        "subject",
        "subject:identifier",
    ]
    .iter()
    .any(|p| params.contains_key(*p));
    if let (Some(date), false) = (params.get("date"), names_a_patient) {
        act.detail = Some(format!("date={date}"));
        let result = day_list(&state, &principal, date, params.get("schedule")).await;
        return act.finish(result).await;
    }
    let result = async {
        let patient = patient_param(&params)?;
        act.patient = Some(patient.clone());
        act.check_patient(&patient)?;
        let key = RouteKey::Patient(patient.clone());
        let api = state.runtime.booking_for(act.call_context(), key)?;
        act.module = Some(api.deployment().module.label.to_string());
        let list = module_call(move || api.appointments_for_patient(&patient)).await?;
        let base = state.config.fhir_base();
        Ok(fhir_json(fhir::searchset(
            &base,
            list.iter().map(fhir::appointment).collect(),
        )))
    }
    .await;
    act.finish(result).await
}

/// Staff only: every appointment starting on a day (UTC), of one schedule
/// if asked, read from the organisation's records.
async fn day_list(
    state: &AppState,
    principal: &Principal,
    date: &str,
    schedule: Option<&String>,
) -> Result<Response, ApiError> {
    if !principal.has_any(&[Role::Clinician, Role::Receptionist]) {
        return Err(ApiError::forbidden(
            "a day's appointments are for practice staff: a patient searches their own with patient=<NHS number>",
        ));
    }
    let bad_date = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("date must be a day, YYYY-MM-DD (e.g. 2026-11-23), not '{date}'"),
        )
    };
    if date.len() != 10 {
        return Err(bad_date());
    }
    let start = fhir::parse_instant(date).ok_or_else(bad_date)?;
    let period = Period {
        start,
        end: start + patchbay_sdk::time::DAY,
    };
    let org = principal.organisation.clone();
    let schedule = schedule.map(|s| s.strip_prefix("Schedule/").unwrap_or(s).to_string());
    let list = store_read(
        state.runtime.records(),
        "the day's appointments",
        move |db| scheduling_records::appointments_between(db, &org, &period, schedule.as_deref()),
    )
    .await?;
    Ok(fhir_json(fhir::searchset(
        &state.config.fhir_base(),
        list.iter().map(fhir::appointment).collect(),
    )))
}

/// The version an `If-Match` header asks for, if any.
pub fn if_match(headers: &HeaderMap) -> Option<u32> {
    let value = headers.get(header::IF_MATCH)?.to_str().ok()?;
    value
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let mut act = state.act(&principal, "appointment.update", BOOKERS).await?;
    act.resource = Some(format!("Appointment/{id}"));
    let result = async {
        let Json(body) = body.map_err(json_error)?;
        if body.get("id").and_then(Value::as_str).is_some_and(|b| b != id) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                IssueCode::Invalid,
                format!("the body's id is not {id}, the id in the URL"),
            ));
        }
        let change = fhir::appointment_change(&body)?;
        let key = RouteKey::Appointment(id.clone());
        let api = state.runtime.booking_for(act.call_context(), key.clone())?;
        act.module = Some(api.deployment().module.label.to_string());
        let read_id = id.clone();
        let found = {
            let api = state.runtime.booking_for(act.call_context(), key)?;
            module_call(move || api.read(&read_id)).await
        };
        if let Ok(current) = &found {
            act.patient = Some(current.patient.clone());
        }
        let current = act.patients_own("Appointment", &id, found, |a| &a.patient)?;
        if let Some(expected) = if_match(&headers).filter(|v| *v != current.version) {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                IssueCode::Conflict,
                format!("If-Match asks for version {expected}, but version {} is current: read it again", current.version),
            ));
        }
        let updated = match change {
            AppointmentChange::Cancel(reason) => {
                act.detail = Some(format!("cancelled: {reason}"));
                let api = api.audited(act.on_commit());
                module_call(move || api.cancel(&id, &reason)).await?
            }
            AppointmentChange::Amend(amendment) => {
                let api = api.audited(act.on_commit());
                module_call(move || api.amend(&id, &amendment)).await?
            }
        };
        Ok(with_etag(fhir_json(fhir::appointment(&updated)), updated.version))
    }
    .await;
    act.finish(result).await
}
