//! A `wasi:http/proxy` component that answers every request with one FHIR
//! Bundle of ten slots, embedded at build time: `bench/load` captures the
//! host's own answer to `GET /fhir/Slot?_count=10` and builds this with it
//! (`SLOTS_BUNDLE`), then serves it with `wasmtime serve`, which makes a
//! fresh instance per request as Patchbay does. The difference between the
//! two rows is what Patchbay adds on top of running a component per
//! request: the token check, the records, the module's policy and the
//! audit entry.

use wasip2::exports::http::incoming_handler::Guest;
use wasip2::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

/// The Bundle, as the host answered it.
const BUNDLE: &[u8] = include_bytes!(env!("SLOTS_BUNDLE"));

/// The most one blocking write may carry (WASI 0.2's output streams).
const CHUNK: usize = 4096;

struct Slots;

impl Guest for Slots {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let headers = Fields::new();
        // A constant, valid header: it cannot be refused.
        let _ = headers.set("content-type", &[b"application/fhir+json".to_vec()]);
        let response = OutgoingResponse::new(headers);
        let Ok(body) = response.body() else {
            return;
        };
        ResponseOutparam::set(out, Ok(response));
        if let Ok(stream) = body.write() {
            for chunk in BUNDLE.chunks(CHUNK) {
                if stream.blocking_write_and_flush(chunk).is_err() {
                    break;
                }
            }
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasip2::http::proxy::export!(Slots);
