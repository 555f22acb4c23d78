//! A standard's exported functions, found in a module's component and
//! type-checked once, when its deployment is linked, then called on every
//! fresh instance without being checked again.
//!
//! The bindings wasmtime generates check the type of every function of the
//! exported interface each time an instance is made (`GuestIndices::load`):
//! six functions' records compared field by field for a call that uses one:
//! about 15% of a trivial call of Meridian's (docs/benchmarks.md). The
//! check's answer is the same for every instance of one pre-instantiated
//! component: it depends on the component and the linker, not on the store.
//! So it is made here, once per deployment, against the linker's view of the
//! component, as the generated bindings already do for a world's own
//! functions; a call then only finds its one function in the new instance.

use std::marker::PhantomData;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, ComponentType, Instance, InstancePre, Lift, Lower,
    TypedFunc,
};
use wasmtime::{AsContextMut, error::Context as _};

/// One function of a standard's exported interface, as host types: its
/// name, its parameters and its result.
pub trait Signature {
    /// The function's name in its interface, as in the WIT.
    const NAME: &'static str;
    /// Its parameters, borrowed from the caller.
    type Params<'a>: ComponentNamedList + Lower;
    /// Its result.
    type Output: ComponentType + Lift + 'static;
}

/// A function of signature `S` that a pre-instantiated component exports,
/// its type already checked.
pub struct Export<S> {
    index: ComponentExportIndex,
    signature: PhantomData<fn() -> S>,
}

impl<S> Clone for Export<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Export<S> {}

impl<S: Signature> Export<S> {
    /// Finds `S` in the exported `interface` of `pre`'s component and checks
    /// its type against the linker's view of the component.
    pub fn check<T>(
        pre: &InstancePre<T>,
        interface: &ComponentExportIndex,
    ) -> wasmtime::Result<Self> {
        let (item, index) = pre
            .component()
            .get_export(Some(interface), S::NAME)
            .ok_or_else(|| {
                wasmtime::format_err!("it does not export the function `{}`", S::NAME)
            })?;
        match item {
            ComponentItem::ComponentFunc(func) => func
                .typecheck::<S::Params<'_>, (S::Output,)>(&pre.instance_type())
                .with_context(|| format!("its function `{}` has another type", S::NAME))?,
            _ => wasmtime::bail!("its export `{}` is not a function", S::NAME),
        }
        Ok(Export {
            index,
            signature: PhantomData,
        })
    }

    /// Calls the function in `instance`, which must have been made from the
    /// `InstancePre` the export was checked against (see [`Exports`]).
    fn call<T>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        instance: &Instance,
        params: S::Params<'_>,
    ) -> wasmtime::Result<S::Output> {
        let func = instance.get_func(&mut store, self.index).ok_or_else(|| {
            wasmtime::format_err!(
                "`{}` was checked in another component than this instance's",
                S::NAME
            )
        })?;
        // SAFETY: `check` type-checked this export at these types against
        // the component's instance type under the linker, and `get_func`
        // found it in an instance of that same component (an index of
        // another component finds nothing). The instance type differs
        // between instances of one component only in the resource types
        // their linker supplies, and the host links every module with its
        // one linker; an instance from `Exports::instantiate` is made from
        // the very `InstancePre` its functions were checked against.
        let typed = unsafe { TypedFunc::<S::Params<'_>, (S::Output,)>::new_unchecked(func) };
        let (output,) = typed.call(&mut store, params)?;
        Ok(output)
    }
}

/// A standard release's exported functions, each checked once.
pub trait ExportSet: Copy + Sized {
    /// Finds and checks every function in the exported interface `interface`
    /// (its name as the standard's world gives it) of `pre`'s component.
    fn check<T>(pre: &InstancePre<T>, interface: &str) -> wasmtime::Result<Self>;
}

/// A pre-instantiated component and its exported functions, checked.
pub struct Exports<E, T: 'static> {
    pre: InstancePre<T>,
    functions: E,
}

impl<E: ExportSet, T: 'static> Exports<E, T> {
    /// Checks `pre`'s exported `interface` against the release's functions.
    pub fn new(pre: InstancePre<T>, interface: &str) -> wasmtime::Result<Self> {
        let functions = E::check(&pre, interface)?;
        Ok(Exports { pre, functions })
    }

    /// A fresh instance in `store`, with the functions to call in it.
    pub fn instantiate(&self, store: impl AsContextMut<Data = T>) -> wasmtime::Result<Bound<E>> {
        let instance = self.pre.instantiate(store)?;
        Ok(Bound {
            instance,
            functions: self.functions,
        })
    }

    /// The pre-instantiated component.
    pub fn instance_pre(&self) -> &InstancePre<T> {
        &self.pre
    }
}

/// An instance and its component's checked functions.
pub struct Bound<E> {
    instance: Instance,
    functions: E,
}

impl<E> Bound<E> {
    /// Calls `pick`'s function of the set with `params`.
    pub fn call<S: Signature, T>(
        &self,
        store: impl AsContextMut<Data = T>,
        pick: impl FnOnce(&E) -> Export<S>,
        params: S::Params<'_>,
    ) -> wasmtime::Result<S::Output> {
        pick(&self.functions).call(store, &self.instance, params)
    }
}

/// The index of `pre`'s exported interface named `interface`.
pub fn interface<T>(
    pre: &InstancePre<T>,
    interface: &str,
) -> wasmtime::Result<ComponentExportIndex> {
    pre.component()
        .get_export_index(None, interface)
        .ok_or_else(|| wasmtime::format_err!("it does not export the interface `{interface}`"))
}

/// Declares a standard release's exported functions: a [`Signature`] for
/// each, and an [`ExportSet`] holding them all.
macro_rules! export_set {
    (
        $(#[$set_doc:meta])*
        $set:ident {
            $(
                $(#[$doc:meta])*
                $field:ident: $sig:ident = $name:literal
                    for<$lt:lifetime> ($($param:ty),* $(,)?) -> $output:ty;
            )*
        }
    ) => {
        $(
            $(#[$doc])*
            pub enum $sig {}

            impl $crate::runtime::export::Signature for $sig {
                const NAME: &'static str = $name;
                type Params<$lt> = ($($param,)*);
                type Output = $output;
            }
        )*

        $(#[$set_doc])*
        #[derive(Clone, Copy)]
        pub struct $set {
            $(
                $(#[$doc])*
                pub $field: $crate::runtime::export::Export<$sig>,
            )*
        }

        impl $crate::runtime::export::ExportSet for $set {
            fn check<T>(
                pre: &wasmtime::component::InstancePre<T>,
                interface: &str,
            ) -> wasmtime::Result<Self> {
                let index = $crate::runtime::export::interface(pre, interface)?;
                Ok($set {
                    $($field: $crate::runtime::export::Export::check(pre, &index)?,)*
                })
            }
        }
    };
}

pub(crate) use export_set;

#[cfg(test)]
mod tests {
    use wasmtime::component::{Component, Linker};
    use wasmtime::{Engine, Store};

    use super::Exports;

    /// A component exporting `example:probe/probe` with `double: func(n: u32) -> u32`.
    const PROBE: &str = r#"(component
        (core module $m
            (func (export "double") (param i32) (result i32)
                (i32.mul (local.get 0) (i32.const 2))))
        (core instance $i (instantiate $m))
        (func $double (param "n" u32) (result u32) (canon lift (core func $i "double")))
        (instance $probe (export "double" (func $double)))
        (export "example:probe/probe" (instance $probe)))"#;

    mod right {
        crate::runtime::export::export_set! {
            /// The probe's functions, as the component has them.
            Probe {
                /// `double`.
                double: Double = "double" for<'a> (u32) -> u32;
            }
        }
    }

    mod wrong_type {
        crate::runtime::export::export_set! {
            /// `double` with a parameter of another type: only checked.
            #[allow(dead_code)]
            Probe {
                /// `double`.
                double: Double = "double" for<'a> (&'a str) -> u32;
            }
        }
    }

    mod missing {
        crate::runtime::export::export_set! {
            /// A function the component does not have: only checked.
            #[allow(dead_code)]
            Probe {
                /// `triple`.
                triple: Triple = "triple" for<'a> (u32) -> u32;
            }
        }
    }

    fn pre(engine: &Engine) -> wasmtime::component::InstancePre<()> {
        let component = Component::new(engine, PROBE).expect("component");
        Linker::new(engine)
            .instantiate_pre(&component)
            .expect("pre")
    }

    #[test]
    fn an_export_checked_once_is_called_in_each_new_instance() {
        let engine = Engine::default();
        let exports = Exports::<right::Probe, ()>::new(pre(&engine), "example:probe/probe")
            .expect("the probe's export matches");
        for n in [1, 21] {
            let mut store = Store::new(&engine, ());
            let instance = exports.instantiate(&mut store).expect("instance");
            let doubled = instance.call(&mut store, |f| f.double, (n,)).expect("call");
            assert_eq!(doubled, n * 2);
        }
    }

    #[test]
    fn an_export_of_another_type_or_missing_is_refused_with_its_name() {
        let engine = Engine::default();
        let wrong = Exports::<wrong_type::Probe, ()>::new(pre(&engine), "example:probe/probe")
            .err()
            .expect("a string parameter is not a u32");
        assert!(
            format!("{wrong:#}").contains("its function `double` has another type"),
            "{wrong:#}"
        );
        let missing = Exports::<missing::Probe, ()>::new(pre(&engine), "example:probe/probe")
            .err()
            .expect("there is no triple");
        assert!(
            format!("{missing:#}").contains("it does not export the function `triple`"),
            "{missing:#}"
        );
        let interface = Exports::<right::Probe, ()>::new(pre(&engine), "example:probe/other")
            .err()
            .expect("there is no such interface");
        assert!(
            format!("{interface:#}")
                .contains("it does not export the interface `example:probe/other`"),
            "{interface:#}"
        );
    }
}
