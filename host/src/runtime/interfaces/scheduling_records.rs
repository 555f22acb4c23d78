//! `care:scheduling/records`: the organisation's schedules, slots and
//! appointments, over the records store. Taking a slot is one conditional
//! update, so of concurrent takes exactly one wins; the store's unique index
//! keeps one live appointment per slot whatever a module does.

use wasmtime::component::{HasSelf, Linker};

use crate::runtime::bindings::scheduling::care::scheduling::records::{
    self, Appointment, AppointmentQuery, AppointmentStatus, DeliveryChannel, NewAppointment,
    Schedule, Slot, SlotQuery, SlotStatus,
};
use crate::runtime::bindings::{Coding, IssueCode, Outcome, Period, Reference};
use crate::runtime::call_state::CallState;
use crate::runtime::codes::Code;
use crate::runtime::interfaces::{
    MAX_PATIENT_ROWS_READ, MAX_SLOTS_READ, fault, is_unique_violation, patients,
};
use crate::store::database::{Connection, DbError, Row};
use crate::store::records::new_id;

/// Links `care:scheduling/records`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    records::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s)?;
    Ok(())
}

const SLOT_COLUMNS: &str = "s.id, s.schedule_id, sc.service_system, sc.service_code, sc.service_display, \
     s.start_ms, s.end_ms, s.status, s.delivery_channel \
     FROM slots s JOIN schedules sc ON sc.org = s.org AND sc.id = s.schedule_id";

const APPOINTMENT_COLUMNS: &str = "id, slot_id, patient, start_ms, end_ms, status, description, comment, \
     cancellation_reason, created_ms, version, updated_ms FROM appointments";

fn slot_from_row(row: &Row) -> Result<Slot, DbError> {
    Ok(Slot {
        id: row.get(0)?,
        schedule_id: row.get(1)?,
        service_type: Coding {
            system: row.get(2)?,
            code: row.get(3)?,
            display: row.get(4)?,
        },
        period: Period {
            start: row.get(5)?,
            end: row.get(6)?,
        },
        status: SlotStatus::from_code(&row.get::<String>(7)?).unwrap_or(SlotStatus::EnteredInError),
        delivery_channel: DeliveryChannel::from_code(&row.get::<String>(8)?)
            .unwrap_or(DeliveryChannel::InPerson),
    })
}

fn appointment_from_row(row: &Row) -> Result<Appointment, DbError> {
    Ok(Appointment {
        id: row.get(0)?,
        slot_id: row.get(1)?,
        patient: row.get(2)?,
        period: Period {
            start: row.get(3)?,
            end: row.get(4)?,
        },
        status: AppointmentStatus::from_code(&row.get::<String>(5)?)
            .unwrap_or(AppointmentStatus::EnteredInError),
        description: row.get(6)?,
        comment: row.get(7)?,
        cancellation_reason: row.get(8)?,
        created: row.get(9)?,
        version: row.get(10)?,
        last_updated: row.get(11)?,
    })
}

/// One slot of an organisation.
pub fn slot(db: &Connection, org: &str, id: &str) -> Result<Option<Slot>, DbError> {
    db.query_opt(
        &format!("SELECT {SLOT_COLUMNS} WHERE s.org = ?1 AND s.id = ?2"),
        &[&org, &id],
    )?
    .map(|row| slot_from_row(&row))
    .transpose()
}

/// The slots of an organisation matching a query, by start time: at most
/// the query's limit, and never more than [`MAX_SLOTS_READ`].
pub fn slots(db: &Connection, org: &str, query: &SlotQuery) -> Result<Vec<Slot>, DbError> {
    let status = query.status.map(|s| s.code());
    let limit = query
        .limit
        .map_or(MAX_SLOTS_READ, |l| (l as usize).min(MAX_SLOTS_READ));
    db.query_at_most(
        &format!(
        "SELECT {SLOT_COLUMNS} WHERE s.org = ?1 AND s.start_ms >= ?2 AND s.end_ms <= ?3 \
         AND (CAST(?4 AS TEXT) IS NULL OR s.schedule_id = ?4) AND (CAST(?5 AS TEXT) IS NULL OR sc.service_code = ?5) \
         AND (CAST(?6 AS TEXT) IS NULL OR s.status = ?6) ORDER BY s.start_ms, s.id"
        ),
        &[
            &org,
            &query.period.start,
            &query.period.end,
            &query.schedule_id,
            &query.service_type,
            &status,
        ],
        limit,
    )?
    .iter()
    .map(slot_from_row)
    .collect()
}

/// One appointment of an organisation.
pub fn appointment(db: &Connection, org: &str, id: &str) -> Result<Option<Appointment>, DbError> {
    db.query_opt(
        &format!("SELECT {APPOINTMENT_COLUMNS} WHERE org = ?1 AND id = ?2"),
        &[&org, &id],
    )?
    .map(|row| appointment_from_row(&row))
    .transpose()
}

/// A patient's appointments matching a query, by start time: every booked
/// one and the most recent others, [`MAX_PATIENT_ROWS_READ`] in all at most.
pub fn appointments_for_patient(
    db: &Connection,
    org: &str,
    query: &AppointmentQuery,
) -> Result<Vec<Appointment>, DbError> {
    let status = query.status.map(|s| s.code());
    // Taken, not LIMITed: SQLite's sorter for `ORDER BY … LIMIT ?` costs far
    // more than reading a patient's few rows (measured in benches/calls).
    let mut list = db
        .query_at_most(
            &format!(
                "SELECT {APPOINTMENT_COLUMNS} WHERE org = ?1 AND patient = ?2 \
                 AND (CAST(?3 AS TEXT) IS NULL OR status = ?3) \
                 AND (CAST(?4 AS BIGINT) IS NULL OR start_ms >= ?4) \
                 ORDER BY status = 'booked' DESC, start_ms DESC, id"
            ),
            &[&org, &query.patient, &status, &query.starting_from],
            MAX_PATIENT_ROWS_READ,
        )?
        .iter()
        .map(appointment_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    list.sort_by(|a, b| (a.period.start, &a.id).cmp(&(b.period.start, &b.id)));
    Ok(list)
}

/// An organisation's appointments starting within a period, whatever their
/// status (of one schedule, if given), by start time: the day's list at
/// reception, [`MAX_SLOTS_READ`] at most.
pub fn appointments_between(
    db: &Connection,
    org: &str,
    period: &Period,
    schedule: Option<&str>,
) -> Result<Vec<Appointment>, DbError> {
    db.query_at_most(
        "SELECT a.id, a.slot_id, a.patient, a.start_ms, a.end_ms, a.status, a.description, a.comment, \
         a.cancellation_reason, a.created_ms, a.version, a.updated_ms \
         FROM appointments a JOIN slots s ON s.org = a.org AND s.id = a.slot_id \
         WHERE a.org = ?1 AND a.start_ms >= ?2 AND a.start_ms < ?3 \
         AND (CAST(?4 AS TEXT) IS NULL OR s.schedule_id = ?4) ORDER BY a.start_ms, a.id",
        &[&org, &period.start, &period.end, &schedule],
        MAX_SLOTS_READ,
    )?
    .iter()
    .map(appointment_from_row)
    .collect()
}

/// Every slot of an organisation, by id: for an export, read in one
/// snapshot.
pub fn all_slots(db: &Connection, org: &str) -> Result<Vec<Slot>, DbError> {
    db.query(
        &format!("SELECT {SLOT_COLUMNS} WHERE s.org = ?1 ORDER BY s.id"),
        &[&org],
    )?
    .iter()
    .map(slot_from_row)
    .collect()
}

/// Every appointment of an organisation last changed at or after `since`
/// (all, without it), by id: for an export.
pub fn all_appointments(
    db: &Connection,
    org: &str,
    since: Option<i64>,
) -> Result<Vec<Appointment>, DbError> {
    db.query(
        &format!("SELECT {APPOINTMENT_COLUMNS} WHERE org = ?1 AND updated_ms >= ?2 ORDER BY id"),
        &[&org, &since.unwrap_or(i64::MIN)],
    )?
    .iter()
    .map(appointment_from_row)
    .collect()
}

/// An organisation's schedules, by id.
pub fn schedules(db: &Connection, org: &str) -> Result<Vec<Schedule>, DbError> {
    db.query(
        "SELECT id, name, service_system, service_code, service_display, actor_kind, actor_id, actor_display \
         FROM schedules WHERE org = ?1 ORDER BY id",
        &[&org],
    )?
    .iter()
    .map(|row| {
        Ok(Schedule {
            id: row.get(0)?,
            name: row.get(1)?,
            service_type: Coding {
                system: row.get(2)?,
                code: row.get(3)?,
                display: row.get(4)?,
            },
            actor: Reference {
                kind: row.get(5)?,
                id: row.get(6)?,
                display: row.get(7)?,
            },
        })
    })
    .collect()
}

/// The practitioners an organisation's records name, by id: the actors of
/// its schedules and the requesters of its prescriptions, each with a name
/// the records give them; only `id` if given. At most `max`.
pub fn practitioners(
    db: &Connection,
    org: &str,
    id: Option<&str>,
    max: usize,
) -> Result<Vec<Reference>, DbError> {
    db.query_at_most(
        "SELECT named.id, MIN(named.display) FROM ( \
             SELECT actor_id AS id, actor_display AS display FROM schedules \
             WHERE org = ?1 AND actor_kind = 'Practitioner' \
             UNION ALL \
             SELECT requester_id, requester_display FROM medication_requests \
             WHERE org = ?1 AND requester_kind = 'Practitioner' \
         ) AS named WHERE CAST(?2 AS TEXT) IS NULL OR named.id = ?2 \
         GROUP BY named.id ORDER BY named.id",
        &[&org, &id],
        max,
    )?
    .iter()
    .map(|row| {
        Ok(Reference {
            kind: "Practitioner".to_string(),
            id: row.get(0)?,
            display: row.get(1)?,
        })
    })
    .collect()
}

fn set_slot_status(
    db: &Connection,
    org: &str,
    id: &str,
    from: SlotStatus,
    to: SlotStatus,
) -> wasmtime::Result<Result<Slot, Outcome>> {
    let changed = db
        .execute(
            "UPDATE slots SET status = ?4 WHERE org = ?1 AND id = ?2 AND status = ?3",
            &[&org, &id, &from.code(), &to.code()],
        )
        .map_err(fault)?;
    let current = slot(db, org, id).map_err(fault)?;
    Ok(match (changed, current) {
        (1, Some(slot)) => Ok(slot),
        (_, None) => Err(Outcome::error(
            IssueCode::NotFound,
            format!("there is no slot '{id}' in this organisation"),
        )),
        (_, Some(slot)) => Err(Outcome::error(
            IssueCode::Conflict,
            format!(
                "slot '{id}' is {}, not {}: choose another slot",
                slot.status.code(),
                from.code()
            ),
        )),
    })
}

impl records::Host for CallState {
    fn schedules(&mut self) -> wasmtime::Result<Vec<Schedule>> {
        schedules(&self.db, &self.ctx.organisation).map_err(fault)
    }

    fn slots(&mut self, query: SlotQuery) -> wasmtime::Result<Vec<Slot>> {
        slots(&self.db, &self.ctx.organisation, &query).map_err(fault)
    }

    fn get_slot(&mut self, id: String) -> wasmtime::Result<Option<Slot>> {
        slot(&self.db, &self.ctx.organisation, &id).map_err(fault)
    }

    fn take_slot(&mut self, id: String) -> wasmtime::Result<Result<Slot, Outcome>> {
        set_slot_status(
            &self.db,
            &self.ctx.organisation,
            &id,
            SlotStatus::Free,
            SlotStatus::Busy,
        )
    }

    fn release_slot(&mut self, id: String) -> wasmtime::Result<Result<Slot, Outcome>> {
        set_slot_status(
            &self.db,
            &self.ctx.organisation,
            &id,
            SlotStatus::Busy,
            SlotStatus::Free,
        )
    }

    fn get_appointment(&mut self, id: String) -> wasmtime::Result<Option<Appointment>> {
        appointment(&self.db, &self.ctx.organisation, &id).map_err(fault)
    }

    fn appointments_for_patient(
        &mut self,
        query: AppointmentQuery,
    ) -> wasmtime::Result<Vec<Appointment>> {
        appointments_for_patient(&self.db, &self.ctx.organisation, &query).map_err(fault)
    }

    fn create_appointment(
        &mut self,
        new: NewAppointment,
    ) -> wasmtime::Result<Result<Appointment, Outcome>> {
        let org = self.ctx.organisation.clone();
        let Some(slot) = slot(&self.db, &org, &new.slot_id).map_err(fault)? else {
            return Ok(Err(Outcome::error(
                IssueCode::NotFound,
                format!("there is no slot '{}' in this organisation", new.slot_id),
            )));
        };
        if patients::lookup(&self.db, &org, &new.patient)
            .map_err(fault)?
            .is_none()
        {
            return Ok(Err(Outcome::error(
                IssueCode::NotFound,
                format!(
                    "no patient with NHS number {} is registered with {org}",
                    new.patient
                ),
            )));
        }
        let id = new_id();
        let now = self.ctx.now;
        let inserted = self
            .db
            .execute_guarded(
                "INSERT INTO appointments (org, id, slot_id, patient, start_ms, end_ms, status, description, \
                 comment, cancellation_reason, created_ms, version, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10, 1, ?10)",
                &[
                    &org,
                    &id,
                    &slot.id,
                    &new.patient,
                    &slot.period.start,
                    &slot.period.end,
                    &new.status.code(),
                    &new.description,
                    &new.comment,
                    &now,
                ],
            );
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Ok(Err(Outcome::error(
                    IssueCode::Conflict,
                    format!(
                        "slot '{}' already has an appointment: choose another slot",
                        slot.id
                    ),
                )));
            }
            Err(e) => return Err(fault(e)),
        }
        let stored = appointment(&self.db, &org, &id).map_err(fault)?;
        stored
            .map(Ok)
            .ok_or_else(|| fault(anyhow::anyhow!("appointment {id} vanished after insert")))
    }

    fn update_appointment(
        &mut self,
        next: Appointment,
    ) -> wasmtime::Result<Result<Appointment, Outcome>> {
        let org = self.ctx.organisation.clone();
        let Some(current) = appointment(&self.db, &org, &next.id).map_err(fault)? else {
            return Ok(Err(Outcome::error(
                IssueCode::NotFound,
                format!("there is no appointment '{}' in this organisation", next.id),
            )));
        };
        if current.version != next.version {
            return Ok(Err(Outcome::error(
                IssueCode::Conflict,
                format!(
                    "appointment '{}' has changed since it was read (version {} is stored, not {}): read it again",
                    next.id, current.version, next.version
                ),
            )));
        }
        let Some(slot) = slot(&self.db, &org, &next.slot_id).map_err(fault)? else {
            return Ok(Err(Outcome::error(
                IssueCode::NotFound,
                format!("there is no slot '{}' in this organisation", next.slot_id),
            )));
        };
        let updated = self
            .db
            .execute_guarded(
                "UPDATE appointments SET slot_id = ?3, start_ms = ?4, end_ms = ?5, status = ?6, description = ?7, \
                 comment = ?8, cancellation_reason = ?9, version = version + 1, updated_ms = ?10 \
                 WHERE org = ?1 AND id = ?2",
                &[
                    &org,
                    &next.id,
                    &slot.id,
                    &slot.period.start,
                    &slot.period.end,
                    &next.status.code(),
                    &next.description,
                    &next.comment,
                    &next.cancellation_reason,
                    &self.ctx.now,
                ],
            );
        match updated {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Ok(Err(Outcome::error(
                    IssueCode::Conflict,
                    format!(
                        "slot '{}' already has an appointment: choose another slot",
                        slot.id
                    ),
                )));
            }
            Err(e) => return Err(fault(e)),
        }
        let stored = appointment(&self.db, &org, &next.id).map_err(fault)?;
        stored.map(Ok).ok_or_else(|| {
            fault(anyhow::anyhow!(
                "appointment {} vanished after update",
                next.id
            ))
        })
    }
}
