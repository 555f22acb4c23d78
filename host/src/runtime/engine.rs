//! The engine lifetime: one wasmtime engine per process, configured for the
//! component model, the pooling allocator with copy-on-write memory images,
//! and epoch interruption; one linker with every host interface; and the
//! thread that advances the epoch so deadlines fire.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::runtime::admission::Admission;
use crate::runtime::artifact_cache::{ArtifactCache, Origin};
use crate::runtime::call_state::CallState;
use crate::runtime::deployment::{Deployment, Grants, Limits};
use crate::runtime::function_slot::FunctionSlots;
use crate::runtime::health::RollbackPolicy;
use crate::runtime::metrics::Metrics;
use crate::runtime::module::{LoadError, Module, ModuleId};
use crate::store::records::RecordStore;

/// How many recently loaded modules stay compiled in memory.
const KEPT_MODULES: usize = 16;

/// How often the epoch advances: the granularity of call deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// A deployment judged unhealthy, as a call reports it to the lifecycle's
/// supervisor: the call itself never acts on it.
pub struct Failing {
    /// The organisation whose slot the deployment serves.
    pub org: String,
    /// The deployment.
    pub deployment: Arc<Deployment>,
    /// Why it was judged unhealthy.
    pub reason: String,
}

/// Settings of the engine and runtime.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Instances that may run at once, across all modules.
    pub max_instances: u32,
    /// The largest memory any instance may have, in bytes (a deployment's
    /// own limit may be lower).
    pub max_memory_bytes: usize,
    /// Where compiled modules are cached; `None` compiles every time.
    pub cache_dir: Option<std::path::PathBuf>,
    /// When a failing deployment is taken out of service.
    pub rollback: RollbackPolicy,
    /// The audit trail's key and anchor; `None` for a trail with a key of
    /// its own and no anchor (scratch runtimes, tests).
    pub audit: Option<crate::store::audit::Trail>,
    /// The most module calls one organisation may run at once.
    pub max_calls_per_organisation: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_instances: 256,
            max_memory_bytes: crate::runtime::deployment::MAX_MEMORY_BYTES,
            cache_dir: None,
            rollback: RollbackPolicy::default(),
            audit: None,
            max_calls_per_organisation: 64,
        }
    }
}

/// The host runtime: engine, linker, records store, slots and metrics.
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallState>,
    records: RecordStore,
    audit: crate::store::audit::Trail,
    slots: FunctionSlots,
    metrics: Metrics,
    cache: Option<ArtifactCache>,
    loaded: Mutex<VecDeque<Arc<Module>>>,
    rollback: RollbackPolicy,
    failing: Mutex<Option<std::sync::mpsc::Sender<Failing>>>,
    admission: Admission,
    _ticker: Ticker,
}

/// A runtime that does not keep it alive: for threads that serve it, such
/// as the lifecycle's supervisor, so the runtime is freed with its last
/// user.
#[derive(Clone)]
pub struct WeakRuntime {
    inner: std::sync::Weak<Inner>,
}

impl WeakRuntime {
    /// The runtime, if it is still alive.
    pub fn upgrade(&self) -> Option<Runtime> {
        self.inner.upgrade().map(|inner| Runtime { inner })
    }
}

impl Runtime {
    /// Builds the engine and linker over a records store, and starts the
    /// epoch thread.
    pub fn new(records: RecordStore, settings: &EngineSettings) -> anyhow::Result<Runtime> {
        let engine = new_engine(settings)?;
        let mut linker = Linker::new(&engine);
        crate::runtime::interfaces::add_to_linker(&mut linker)?;
        let cache = settings
            .cache_dir
            .as_deref()
            .map(|dir| ArtifactCache::open(dir, &engine))
            .transpose()?;
        let ticker = Ticker::start(engine.clone());
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                records,
                audit: settings
                    .audit
                    .clone()
                    .unwrap_or_else(crate::store::audit::Trail::ephemeral),
                slots: FunctionSlots::default(),
                metrics: Metrics::default(),
                cache,
                loaded: Mutex::new(VecDeque::new()),
                rollback: settings.rollback.clone(),
                failing: Mutex::new(None),
                admission: Admission::new(settings.max_calls_per_organisation),
                _ticker: ticker,
            }),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The linker with every host interface.
    pub fn linker(&self) -> &Linker<CallState> {
        &self.inner.linker
    }

    /// The records store.
    pub fn records(&self) -> &RecordStore {
        &self.inner.records
    }

    /// The audit trail's key and anchor.
    pub fn audit(&self) -> &crate::store::audit::Trail {
        &self.inner.audit
    }

    /// The organisations' slots.
    pub fn slots(&self) -> &FunctionSlots {
        &self.inner.slots
    }

    /// Call and request metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The epoch ticks a call may run for a deadline (at least one).
    pub fn deadline_ticks(&self, deadline: Duration) -> u64 {
        (deadline.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64 + 1
    }

    /// Compiles a component as the named module and checks which standard
    /// it implements; see [`Runtime::load`].
    pub fn compile(&self, id: ModuleId, bytes: &[u8]) -> Result<Arc<Module>, LoadError> {
        self.load(id, bytes).map(|(module, _)| module)
    }

    /// Loads a module: one of the last few loaded in this process if it is
    /// there (so swapping back and forth reuses one compiled module and its
    /// memory images), else from the artifact cache, else by compiling it.
    /// Says which.
    pub fn load(&self, id: ModuleId, bytes: &[u8]) -> Result<(Arc<Module>, Origin), LoadError> {
        let hash = crate::runtime::module::sha256_hex(bytes);
        if let Ok(mut loaded) = self.inner.loaded.lock()
            && let Some(at) = loaded.iter().position(|m| m.hash == hash && m.id == id)
            && let Some(module) = loaded.remove(at)
        {
            loaded.push_back(module.clone());
            return Ok((module, Origin::Memory));
        }
        let module = Arc::new(Module::load(
            self.engine(),
            self.inner.cache.as_ref(),
            id,
            bytes,
        )?);
        if let Ok(mut loaded) = self.inner.loaded.lock() {
            if loaded.len() == KEPT_MODULES {
                loaded.pop_front();
            }
            loaded.push_back(module.clone());
        }
        Ok((module.clone(), module.origin))
    }

    /// When a failing deployment is taken out of service.
    pub fn rollback_policy(&self) -> &RollbackPolicy {
        &self.inner.rollback
    }

    /// How many calls each organisation may run at once.
    pub fn admission(&self) -> &Admission {
        &self.inner.admission
    }

    /// A handle that does not keep the runtime alive.
    pub fn downgrade(&self) -> WeakRuntime {
        WeakRuntime {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Where failing deployments are reported from now on: the receiver is
    /// the lifecycle's supervisor's. A runtime nobody supervises (a scratch
    /// runtime for a conformance run) reports to no one, so its calls can
    /// never change a slot.
    pub fn failure_reports(&self) -> std::sync::mpsc::Receiver<Failing> {
        let (sender, receiver) = std::sync::mpsc::channel();
        if let Ok(mut failing) = self.inner.failing.lock() {
            *failing = Some(sender);
        }
        receiver
    }

    /// Reports a deployment judged unhealthy to the supervisor, if any. The
    /// call that noticed goes on at once.
    pub fn report_failing(&self, report: Failing) {
        let sender = self.inner.failing.lock().ok().and_then(|f| f.clone());
        let (org, module) = (report.org.clone(), report.deployment.module.label.clone());
        match sender.map(|s| s.send(report)) {
            Some(Ok(())) => {}
            _ => tracing::warn!(org = %org, module = %module,
                "a failing deployment was reported, but no supervisor acts on this runtime"),
        }
    }

    /// The artifact cache, if the runtime has one.
    pub fn cache(&self) -> Option<&ArtifactCache> {
        self.inner.cache.as_ref()
    }

    /// Links a compiled module into a deployment, ready for a slot.
    pub fn prepare(
        &self,
        module: Arc<Module>,
        limits: Limits,
        grants: Grants,
    ) -> Result<Arc<Deployment>, LoadError> {
        Deployment::new(self.linker(), module, limits, grants).map(Arc::new)
    }
}

/// How much of each pooled linear memory stays resident between instances,
/// reset in place instead of handed back to the kernel and faulted in again
/// by the next instance. A TypeScript or Python module's instance touches
/// megabytes of its pre-initialised image on every call, and faulting those
/// pages in again was 40% of its call (docs/benchmarks.md); a Rust module's
/// call is unchanged. What stays resident is at most what the busiest moment
/// already used: one slot's touched pages per instance that ran at once.
///
/// What is reset is found with Linux's `PAGEMAP_SCAN` (kernel 6.7 and later;
/// elsewhere wasmtime falls back to resetting the lowest
/// `KEEP_RESIDENT_BYTES` whole): only the pages the instance wrote are put
/// back to the module's image. Without it every instance's whole accessible
/// memory was written over: 1 MiB for a Rust module, 22 of a 27 µs minimal
/// call with that much memory (docs/benchmarks.md).
const KEEP_RESIDENT_BYTES: usize = 16 << 20;

/// The most elements a module's table may hold.
const TABLE_ELEMENTS: usize = 20_000;

/// How much of each pooled table stays resident between instances: all of
/// it (a funcref is at most 16 bytes). Otherwise each instance's table
/// pages were handed back to the kernel with `madvise` when it ended, and
/// every `madvise` interrupts the process's threads on the other cores to
/// flush their TLBs: 8% of the server's CPU under slot-search load
/// (docs/benchmarks.md). With `PAGEMAP_SCAN`, only the pages an instance
/// wrote are zeroed.
const TABLE_KEEP_RESIDENT_BYTES: usize = TABLE_ELEMENTS * 16;

fn new_engine(settings: &EngineSettings) -> anyhow::Result<Engine> {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(settings.max_instances)
        .total_core_instances(settings.max_instances * 8)
        .total_memories(settings.max_instances * 2)
        .total_tables(settings.max_instances * 4)
        .total_stacks(settings.max_instances)
        .max_memory_size(settings.max_memory_bytes)
        .max_core_instances_per_component(16)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .table_elements(TABLE_ELEMENTS)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES)
        .pagemap_scan(wasmtime::Enabled::Auto);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .memory_init_cow(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("cannot create the WebAssembly engine")
}

/// Advances the engine's epoch every tick until dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        Ticker { stop, thread }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every call's instance starts from the module's image, whatever the
    /// instance before it in the same pooled slot wrote: the image's bytes,
    /// zeroed memory past them, and memory it grew.
    #[test]
    fn a_new_instance_never_sees_what_the_instance_before_it_wrote() {
        // Memories and tables are pooled, kept resident and reset in place.
        let engine = new_engine(&EngineSettings::default()).expect("engine");
        let component = wasmtime::component::Component::new(
            &engine,
            r#"(component
                (core module $m
                    (memory 17)
                    (table $t 4 funcref)
                    (elem declare func $f)
                    (data (i32.const 65536) "\2a")
                    (func $f (export "f") (result i32)
                        (local $seen i32)
                        ;; What this instance finds: the image's byte (42),
                        ;; zero at the top of its memory, 17 pages, an empty
                        ;; table element and a table of 4.
                        (local.set $seen
                            (i32.add (i32.load8_u (i32.const 65536))
                                (i32.add (i32.load (i32.const 1114096))
                                    (i32.mul (memory.size) (i32.const 1000)))))
                        (local.set $seen
                            (i32.add (local.get $seen)
                                (i32.add
                                    (i32.mul (ref.is_null (table.get $t (i32.const 1)))
                                        (i32.const 100000))
                                    (i32.mul (table.size $t) (i32.const 1000000)))))
                        ;; What it leaves behind.
                        (i32.store8 (i32.const 65536) (i32.const 7))
                        (i32.store (i32.const 1114096) (i32.const 500))
                        (drop (memory.grow (i32.const 2)))
                        (i32.store (i32.const 1179664) (i32.const 9))
                        (table.set $t (i32.const 1) (ref.func $f))
                        (drop (table.grow $t (ref.func $f) (i32.const 2)))
                        (local.get $seen)))
                (core instance $i (instantiate $m))
                (func (export "f") (result u32) (canon lift (core func $i "f"))))"#,
        )
        .expect("component");
        let pre = Linker::<()>::new(&engine)
            .instantiate_pre(&component)
            .expect("pre");
        for call in 0..5 {
            let mut store = wasmtime::Store::new(&engine, ());
            store.set_epoch_deadline(1_000);
            let instance = pre.instantiate(&mut store).expect("instance");
            let f = instance
                .get_typed_func::<(), (u32,)>(&mut store, "f")
                .expect("f");
            let (seen,) = f.call(&mut store, ()).expect("call");
            assert_eq!(
                seen,
                42 + 17_000 + 100_000 + 4_000_000,
                "call {call} saw an earlier instance's memory or table"
            );
        }
    }
}
