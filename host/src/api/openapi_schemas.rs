//! The JSON Schemas of what the API takes and answers, as the OpenAPI
//! document's `components/schemas`: FHIR resources (OperationOutcome, Slot,
//! Appointment, MedicationRequest, searchset Bundles, CapabilityStatement),
//! CDS Hooks requests and cards, the admin bodies and answers, the audit
//! page and health. Routes name them (`RouteSpec`'s body and answers); the
//! document refers to them with `$ref`. Codes come from the same tables the
//! API writes them with ([`Code`]), so the two cannot drift.

use serde_json::{Map, Value, json};

use crate::api::cds::MAX_DRAFT_ORDERS;
use crate::api::fhir::{DELIVERY_CHANNEL_EXTENSION, MAX_ID, MAX_TEXT, OVERRIDE_REASON_EXTENSION};
use crate::runtime::bindings::prescribing::care::prescribing::records::{
    RequestIntent, RequestStatus,
};
use crate::runtime::bindings::prescribing::exports::care::prescribing::ordering::Indicator;
use crate::runtime::bindings::scheduling::care::scheduling::records::{
    AppointmentStatus, DeliveryChannel, SlotStatus,
};
use crate::runtime::bindings::{IssueCode, Severity};
use crate::runtime::codes::Code;
use patchbay_sdk::coding::NHS_NUMBER;

/// A `$ref` to a schema in `components/schemas`.
pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Every code of an enum, as a JSON Schema `enum`.
fn codes<T: Code + PartialEq>() -> Value {
    json!({"type": "string", "enum": T::CODES.iter().map(|(_, c)| *c).collect::<Vec<_>>()})
}

/// A string, or null.
fn optional_text() -> Value {
    json!({"type": ["string", "null"]})
}

/// An object with these properties, of which `required` must be present.
fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

/// A resource of this `resourceType`, with these properties besides.
fn resource(kind: &str, required: &[&str], mut properties: Value) -> Value {
    properties["resourceType"] = json!({"const": kind});
    let mut all = vec!["resourceType"];
    all.extend_from_slice(required);
    object(&all, properties)
}

/// A searchset Bundle of one kind of resource.
fn bundle(of: &str) -> Value {
    resource(
        "Bundle",
        &["type", "total", "entry"],
        json!({
            "type": {"const": "searchset"},
            "total": {"type": "integer", "minimum": 0},
            "entry": {"type": "array", "items": object(&["fullUrl", "resource"], json!({
                "fullUrl": {"type": "string"},
                "resource": reference(of),
                "search": object(&["mode"], json!({"mode": {"const": "match"}})),
            }))},
        }),
    )
}

/// Every schema, by name.
pub fn schemas() -> Map<String, Value> {
    let text = json!({"type": "string"});
    let bounded_text = json!({"type": "string", "maxLength": MAX_TEXT});
    let id = json!({"type": "string", "minLength": 1, "maxLength": MAX_ID});
    let instant = json!({"type": "string", "format": "date-time"});
    let coding = object(
        &["system", "code"],
        json!({"system": bounded_text, "code": id, "display": bounded_text}),
    );
    let concept = object(
        &["coding"],
        json!({"coding": {"type": "array", "minItems": 1, "items": coding}}),
    );
    let nhs_reference = object(
        &["identifier"],
        json!({"identifier": object(&["system", "value"], json!({
            "system": {"const": NHS_NUMBER},
            "value": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
        }))}),
    );
    let meta = object(
        &["versionId", "lastUpdated"],
        json!({"versionId": text, "lastUpdated": instant}),
    );
    let reason = object(&["text"], json!({"text": bounded_text}));
    let slot_reference = object(
        &["reference"],
        json!({"reference": {"type": "string", "pattern": "Slot/[^/]+$"}}),
    );
    let dose_quantity = object(
        &["value"],
        json!({"value": {"type": "number"}, "unit": id, "code": id, "system": text}),
    );
    let dosage = object(
        &["doseAndRate"],
        json!({
            "text": bounded_text,
            "timing": object(&[], json!({"repeat": object(&[], json!({
                "frequency": {"type": "integer", "minimum": 0},
                "period": {"const": 1},
                "periodUnit": {"const": "d"},
            }))})),
            "asNeededBoolean": {"type": "boolean"},
            "route": concept,
            "doseAndRate": {"type": "array", "minItems": 1, "items": object(&["doseQuantity"], json!({"doseQuantity": dose_quantity}))},
        }),
    );
    let override_extension = object(
        &["url", "valueString"],
        json!({"url": {"const": OVERRIDE_REASON_EXTENSION}, "valueString": bounded_text}),
    );
    let draft = resource(
        "MedicationRequest",
        &["medicationCodeableConcept", "subject", "dosageInstruction"],
        json!({
            "status": text,
            "intent": codes::<RequestIntent>(),
            "medicationCodeableConcept": concept,
            "subject": nhs_reference,
            "dosageInstruction": {"type": "array", "minItems": 1, "items": dosage},
            "extension": {"type": "array", "items": override_extension},
        }),
    );
    let deployment_record = object(
        &[
            "id",
            "org",
            "function",
            "module_hash",
            "module",
            "limits",
            "grants",
            "action",
            "reason",
            "deployed_ms",
            "deployed_by",
        ],
        json!({
            "id": {"type": "integer"},
            "org": text,
            "function": text,
            "module_hash": text,
            "module": text,
            "limits": {"type": "object"},
            "grants": {"type": "object"},
            "action": {"enum": ["start", "deploy", "promote", "rollback", "automatic-rollback"]},
            "reason": text,
            "deployed_ms": {"type": "integer"},
            "deployed_by": text,
        }),
    );
    let report = json!({"type": ["object", "null"], "properties": {
        "functions": {"type": "object"},
        "differences": {"type": "array"},
    }});
    let conformance_report = object(
        &["passed", "results"],
        json!({
            "passed": {"type": "boolean"},
            "error": {"type": "string", "description": "Why the suite could not run"},
            "results": {"type": "array", "items": object(&["id", "description", "reference", "passed"], json!({
                "id": {"type": "string"}, "description": {"type": "string"}, "reference": {"type": "string"},
                "passed": {"type": "boolean"}, "reason": optional_text(),
            }))},
        }),
    );
    let module_calls = object(
        &["calls", "failures", "mean_ms"],
        json!({
            "calls": {"type": "integer", "description": "The active module's calls for this organisation since the host started"},
            "failures": {"type": "integer", "description": "Of those, the ones that trapped, timed out, ran out of memory or met a host error"},
            "mean_ms": {"type": "number", "description": "Their mean time, in milliseconds"},
        }),
    );
    let trial_summary = json!({
        "type": ["object", "null"],
        "required": ["mode", "module", "module_hash", "percent", "healthy"],
        "properties": {
            "mode": {"enum": ["canary", "shadow"]},
            "module": text,
            "module_hash": text,
            "percent": {"type": "integer", "minimum": 1, "maximum": 100},
            "healthy": {"type": "boolean"},
            "report": report,
        },
    });
    let needs = object(
        &[],
        json!({"memory_bytes": {"type": "integer"}, "deadline": {"type": "integer"}}),
    );
    let modules = {
        let module = object(
            &["hash", "label", "world", "added_ms", "added_by"],
            json!({
                "hash": text, "label": text, "world": text, "signed_by": optional_text(),
                "added_ms": {"type": "integer"}, "added_by": text,
                "needs": needs.clone(),
            }),
        );
        object(
            &["modules"],
            json!({"modules": {"type": "array", "items": module}}),
        )
    };
    let card = object(
        &["uuid", "summary", "indicator", "source"],
        json!({
            "uuid": text,
            "summary": text,
            "detail": text,
            "indicator": codes::<Indicator>(),
            "source": object(&["label"], json!({"label": text, "url": text})),
            "selectionBehavior": text,
            "suggestions": {"type": "array", "items": object(&["label", "actions"], json!({
                "label": text,
                "uuid": text,
                "actions": {"type": "array", "items": object(&["type"], json!({
                    "type": {"enum": ["create", "update", "delete"]},
                    "description": text,
                    "resource": {"type": "object"},
                }))},
            }))},
        }),
    );

    let all = json!({
        "OperationOutcome": resource("OperationOutcome", &["issue"], json!({
            "issue": {"type": "array", "minItems": 1, "items": object(&["severity", "code"], json!({
                "severity": codes::<Severity>(),
                "code": codes::<IssueCode>(),
                "diagnostics": text,
                "expression": {"type": "array", "items": text},
                "details": object(&[], json!({"text": text})),
            }))},
        })),
        "Slot": resource("Slot", &["id", "schedule", "status", "start", "end"], json!({
            "id": text,
            "schedule": object(&["reference"], json!({"reference": {"type": "string", "pattern": "^Schedule/"}})),
            "serviceType": {"type": "array", "items": concept},
            "status": codes::<SlotStatus>(),
            "start": instant,
            "end": instant,
            "extension": {"type": "array", "items": object(&["url", "valueCode"], json!({
                "url": {"const": DELIVERY_CHANNEL_EXTENSION},
                "valueCode": codes::<DeliveryChannel>(),
            }))},
        })),
        "Appointment": resource("Appointment", &["id", "meta", "status", "start", "end", "slot", "participant"], json!({
            "id": text,
            "meta": meta,
            "status": codes::<AppointmentStatus>(),
            "start": instant,
            "end": instant,
            "created": instant,
            "slot": {"type": "array", "minItems": 1, "items": slot_reference},
            "participant": {"type": "array", "minItems": 1, "items": object(&["actor"], json!({
                "actor": nhs_reference, "status": text,
            }))},
            "description": text,
            "comment": text,
            "cancelationReason": reason,
        })),
        "AppointmentBooking": resource("Appointment", &["slot", "participant"], json!({
            "slot": {"type": "array", "minItems": 1, "items": slot_reference},
            "participant": {"type": "array", "minItems": 1, "items": object(&["actor"], json!({"actor": nhs_reference}))},
            "description": bounded_text,
            "comment": bounded_text,
        })),
        "AppointmentChange": resource("Appointment", &[], json!({
            "id": id,
            "status": codes::<AppointmentStatus>(),
            "cancelationReason": reason,
            "slot": {"type": "array", "minItems": 1, "items": slot_reference},
            "description": bounded_text,
            "comment": bounded_text,
        })),
        "MedicationRequest": resource("MedicationRequest", &["id", "meta", "status", "intent", "medicationCodeableConcept", "subject", "authoredOn", "requester", "dosageInstruction"], json!({
            "id": text,
            "meta": meta,
            "status": codes::<RequestStatus>(),
            "intent": codes::<RequestIntent>(),
            "medicationCodeableConcept": concept,
            "subject": nhs_reference,
            "authoredOn": instant,
            "requester": object(&["reference"], json!({"reference": text, "display": text})),
            "dosageInstruction": {"type": "array", "minItems": 1, "items": dosage},
            "statusReason": reason,
            "extension": {"type": "array", "items": override_extension},
        })),
        "MedicationRequestDraft": draft,
        "MedicationRequestCancellation": resource("MedicationRequest", &["status", "statusReason"], json!({
            "status": {"const": "cancelled"},
            "statusReason": reason,
        })),
        "SlotBundle": bundle("Slot"),
        "AppointmentBundle": bundle("Appointment"),
        "MedicationRequestBundle": bundle("MedicationRequest"),
        "CapabilityStatement": resource("CapabilityStatement", &["status", "date", "kind", "fhirVersion", "format", "rest"], json!({
            "status": text,
            "date": instant,
            "kind": {"const": "instance"},
            "fhirVersion": {"const": "4.0.1"},
            "format": {"type": "array", "items": text},
            "rest": {"type": "array", "items": {"type": "object"}},
        })),
        "SmartConfiguration": object(&["issuer", "capabilities"], json!({
            "issuer": text,
            "token_endpoint_auth_methods_supported": {"type": "array", "items": text},
            "grant_types_supported": {"type": "array", "items": text},
            "scopes_supported": {"type": "array", "items": text},
            "capabilities": {"type": "array", "items": text},
        })),
        "OpenApiDocument": object(&["openapi", "info", "paths"], json!({
            "openapi": text, "info": {"type": "object"}, "paths": {"type": "object"}, "components": {"type": "object"},
        })),
        "Health": object(&["status"], json!({"status": {"const": "ok"}})),
        "CdsDiscovery": object(&["services"], json!({
            "services": {"type": "array", "items": object(&["id", "hook", "title", "description", "prefetch"], json!({
                "id": text, "hook": text, "title": text, "description": text, "prefetch": {"type": "object"},
            }))},
        })),
        "CdsRequest": object(&["context"], json!({
            "hook": {"enum": ["order-select", "order-sign"]},
            "hookInstance": text,
            "context": object(&["draftOrders"], json!({
                "draftOrders": object(&["entry"], json!({
                    "resourceType": {"const": "Bundle"},
                    "entry": {"type": "array", "maxItems": MAX_DRAFT_ORDERS, "items": object(&["resource"], json!({"resource": draft}))},
                })),
            })),
        })),
        "CdsCards": object(&["cards"], json!({"cards": {"type": "array", "items": card}})),
        "AuditPage": object(&["entries"], json!({
            "entries": {"type": "array", "items": object(
                &["seq", "time_ms", "user", "org", "role", "action", "outcome", "prev_hash", "hash"],
                json!({
                    "seq": {"type": "integer", "minimum": 1},
                    "time_ms": {"type": "integer"},
                    "user": text,
                    "user_name": optional_text(),
                    "org": text,
                    "role": text,
                    "action": text,
                    "resource": optional_text(),
                    "patient": optional_text(),
                    "outcome": text,
                    "detail": optional_text(),
                    "module": optional_text(),
                    "prev_hash": text,
                    "hash": text,
                }),
            )},
        })),
        "CarePackage": object(&["format", "manifest", "component"], json!({
            "format": {"const": crate::lifecycle::package::FORMAT},
            "manifest": text,
            "component": {"type": "string", "contentEncoding": "base64"},
            "signature": {"type": ["object", "null"], "required": ["algorithm", "public_key", "value"], "properties": {
                "algorithm": {"const": "ed25519"}, "public_key": text, "value": text,
            }},
        })),
        "ModuleAdded": object(&["module", "sha256", "world", "conformance"], json!({
            "module": text, "sha256": text, "world": text, "signed_by": optional_text(),
            "needs": needs, "conformance": conformance_report,
        })),
        "ModuleList": modules,
        "SlotList": object(&["slots"], json!({
            "slots": {"type": "array", "items": object(
                &["organisation", "function", "world", "module", "sha256", "healthy", "history"],
                json!({
                    "organisation": text, "function": text, "world": text, "module": text, "sha256": text,
                    "healthy": {"type": "boolean"},
                    "calls": module_calls,
                    "trial": trial_summary, "history": {"type": "array", "items": text},
                }),
            )},
        })),
        "SlotChange": {
            "type": "object",
            "required": ["reason"],
            "additionalProperties": false,
            "properties": {
                "module": {"type": "string", "description": "supplier/name@version, or the module's SHA-256"},
                "percent": {"type": "integer", "minimum": 0, "maximum": u32::MAX, "description": "A trial's share, 1 to 100"},
                "reason": {"type": "string"},
            },
        },
        "Deployed": object(&["deployment", "timings"], json!({
            "deployment": deployment_record,
            "timings": object(&["compile_us", "link_us", "readiness_us", "swap_us", "total_us"], json!({
                "compile_us": {"type": "integer"},
                "compiled_from": {"enum": ["compiled", "cache", "memory", null]},
                "link_us": {"type": "integer"},
                "readiness_us": {"type": "integer"},
                "swap_us": {"type": "integer"},
                "total_us": {"type": "integer"},
            })),
        })),
        "TrialStarted": object(&["trial"], json!({
            "trial": object(&["org", "function", "mode", "module_hash", "module", "percent", "reason", "started_ms", "started_by"], json!({
                "org": text, "function": text, "mode": {"enum": ["canary", "shadow"]},
                "module_hash": text, "module": text, "percent": {"type": "integer", "minimum": 1, "maximum": 100},
                "limits": {"type": "object"}, "grants": {"type": "object"},
                "reason": text, "started_ms": {"type": "integer"}, "started_by": text,
            })),
        })),
        "TrialState": object(&["active", "trial"], json!({"active": optional_text(), "trial": trial_summary})),
        "TrialEnded": object(&["ended", "report"], json!({"ended": {"type": "object"}, "report": report})),
        "History": object(&["history"], json!({"history": {"type": "array", "items": deployment_record}})),
    });
    let mut map = match all {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    // The directory's resources, apart: one literal of every schema is past
    // what the json! macro can expand.
    map.extend(directory(&text, &concept));
    map.extend(bulk(&text));
    map.extend(sign_in_and_audit(&text));
    map
}

/// The console's sign-in (development and OpenID Connect) and the audit
/// chain's verdict.
fn sign_in_and_audit(text: &Value) -> Map<String, Value> {
    let all = json!({
        "AuditVerdict": object(&["intact"], json!({
            "intact": {"type": "boolean"},
            "entries": {"type": "integer", "description": "How many entries were checked (when intact)"},
            "seq": {"type": "integer", "description": "The first entry that does not fit (when broken)"},
            "reason": {"type": "string", "description": "What is wrong (when broken)"},
        })),
        "SignInConfig": object(&["mode"], json!({
            "mode": {"enum": ["development", "oidc", "none"]},
            "issuer": {"type": "string", "description": "For oidc: the issuer, whose /.well-known/openid-configuration the console reads"},
            "client_id": {"type": "string", "description": "For oidc: the console's client id"},
            "scope": {"type": "string"},
        })),
        "DevUsers": object(&["users"], json!({
            "users": {"type": "array", "items": object(&["user", "name", "role", "organisation"], json!({
                "user": text, "name": text, "role": text, "organisation": text, "nhs_number": text,
            }))},
        })),
        "DevSignIn": {
            "type": "object",
            "required": ["user", "role"],
            "additionalProperties": false,
            "properties": {
                "user": {"type": "string", "minLength": 1, "maxLength": 64},
                "role": {"enum": ["patient", "receptionist", "clinician", "admin", "auditor"]},
                "name": {"type": "string"},
                "organisation": {"type": "string", "minLength": 1, "maxLength": 16},
                "nhs_number": {"type": "string", "pattern": "^[0-9]{10}$"},
            },
        },
        "DevToken": object(&["access_token", "token_type", "expires_in", "user", "role", "organisation"], json!({
            "access_token": text, "token_type": text, "expires_in": {"type": "integer"},
            "user": text, "name": optional_text(), "role": text, "organisation": text, "nhs_number": optional_text(),
        })),
    });
    match all {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The directory's resources: Patient and Schedule, and their bundles.
fn directory(text: &Value, concept: &Value) -> Map<String, Value> {
    let all = json!({
        "Patient": resource("Patient", &["id", "identifier", "name", "birthDate"], json!({
            "id": text,
            "identifier": {"type": "array", "minItems": 1, "items": object(&["system", "value"], json!({
                "system": {"const": NHS_NUMBER},
                "value": {"type": "string", "pattern": "^[0-9]{10}$"},
            }))},
            "name": {"type": "array", "items": object(&["text"], json!({"text": text}))},
            "birthDate": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        })),
        "PatientBundle": bundle("Patient"),
        "Schedule": resource("Schedule", &["id", "active", "serviceType", "actor"], json!({
            "id": text,
            "active": {"type": "boolean"},
            "serviceType": {"type": "array", "items": concept},
            "actor": {"type": "array", "minItems": 1, "items": object(&[], json!({
                "reference": text,
                "type": text,
                "identifier": object(&["value"], json!({"value": text})),
                "display": text,
            }))},
            "comment": text,
        })),
        "ScheduleBundle": bundle("Schedule"),
        "Practitioner": resource("Practitioner", &["id", "active"], json!({
            "id": text,
            "active": {"type": "boolean"},
            "name": {"type": "array", "items": object(&["text"], json!({"text": text}))},
        })),
        "PractitionerBundle": bundle("Practitioner"),
        "AllergyIntolerance": resource("AllergyIntolerance", &["id", "clinicalStatus", "verificationStatus", "criticality", "code", "patient", "recordedDate"], json!({
            "id": text,
            "clinicalStatus": concept,
            "verificationStatus": concept,
            "criticality": {"enum": ["low", "high", "unable-to-assess"]},
            "code": concept,
            "patient": object(&["reference", "identifier"], json!({"reference": text, "identifier": object(&["system", "value"], json!({"system": {"const": NHS_NUMBER}, "value": text}))})),
            "recordedDate": text,
            "reaction": {"type": "array", "items": object(&["manifestation"], json!({
                "description": text,
                "manifestation": {"type": "array", "minItems": 1, "items": object(&["text"], json!({"text": text}))},
            }))},
        })),
        "AllergyIntoleranceBundle": bundle("AllergyIntolerance"),
    });
    match all {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The bulk export's completion manifest (FHIR Bulk Data Access v2), each
/// file with its SHA-256.
fn bulk(text: &Value) -> Map<String, Value> {
    let file = object(
        &["type", "url", "count"],
        json!({
            "type": text,
            "url": text,
            "count": {"type": "integer", "minimum": 0},
            "extension": object(&["sha256"], json!({"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}})),
        }),
    );
    let all = json!({
        "Ndjson": {"type": "string", "description": "FHIR resources as JSON, one per line"},
        "ImportReport": object(&["organisation", "loaded"], json!({
            "organisation": text,
            "loaded": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        })),
        "BulkManifest": object(&["transactionTime", "request", "requiresAccessToken", "output", "error"], json!({
            "transactionTime": text,
            "request": text,
            "requiresAccessToken": {"type": "boolean"},
            "output": {"type": "array", "items": file},
            "error": {"type": "array", "items": file},
            "extension": object(&[], json!({"history": {"type": "array", "items": file}})),
        })),
    });
    match all {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
