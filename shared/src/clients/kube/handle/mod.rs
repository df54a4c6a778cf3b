//! [`Objects`]: one kind in one scope (a namespace, the cluster, every namespace). Each
//! call maps its failure through [`super::from_kube`] with the verb, kind, name and
//! namespace it was about, so no caller writes that text, or forgets it, again.

mod calls;
#[cfg(test)]
mod tests;

use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::{ClusterResourceScope, NamespaceResourceScope};
use kube::{Client, Resource};

/// Where the objects of an [`Objects`] live.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Namespace(String),
    Cluster,
    Every,
}

/// The objects of kind `K` in one scope; built by [`Objects::namespaced`],
/// [`Objects::cluster`], [`Objects::all`] or, for a kind known only at run time,
/// [`Objects::dynamic`].
pub struct Objects<K> {
    api: Api<K>,
    kind: String,
    plural: String,
    scope: Scope,
}

impl<K> Objects<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    /// The `K`s in `namespace`.
    pub fn namespaced(client: &Client, namespace: &str) -> Self {
        Self::typed(
            Api::namespaced(client.clone(), namespace),
            Scope::Namespace(namespace.into()),
        )
    }

    /// The `K`s of every namespace, read together.
    pub fn all(client: &Client) -> Self {
        Self::typed(Api::all(client.clone()), Scope::Every)
    }
}

impl<K> Objects<K>
where
    K: Resource<Scope = ClusterResourceScope>,
    K::DynamicType: Default,
{
    /// The `K`s of the cluster, a kind no namespace holds.
    pub fn cluster(client: &Client) -> Self {
        Self::typed(Api::all(client.clone()), Scope::Cluster)
    }
}

impl<K> Objects<K>
where
    K: Resource,
    K::DynamicType: Default,
{
    fn typed(api: Api<K>, scope: Scope) -> Self {
        let dt = K::DynamicType::default();
        Objects {
            api,
            kind: K::kind(&dt).into_owned(),
            plural: K::plural(&dt).into_owned(),
            scope,
        }
    }
}

impl Objects<DynamicObject> {
    /// The objects of `resource` in `namespace`, or cluster-wide when it is `None`.
    pub fn dynamic(client: &Client, resource: &ApiResource, namespace: Option<&str>) -> Self {
        let (api, scope) = match namespace {
            Some(ns) => (
                Api::namespaced_with(client.clone(), ns, resource),
                Scope::Namespace(ns.into()),
            ),
            None => (Api::all_with(client.clone(), resource), Scope::Cluster),
        };
        Objects {
            api,
            kind: resource.kind.clone(),
            plural: resource.plural.clone(),
            scope,
        }
    }
}

impl<K> Objects<K> {
    /// What a call on object `name` was doing, for its error: "read Deployment api in nvcf".
    fn doing(&self, verb: &str, name: &str) -> String {
        match &self.scope {
            Scope::Namespace(ns) => format!("{verb} {} {name} in {ns}", self.kind),
            Scope::Cluster | Scope::Every => format!("{verb} {} {name}", self.kind),
        }
    }

    /// What a call on the whole scope was doing: "list deployments in nvcf".
    fn doing_all(&self, verb: &str) -> String {
        match &self.scope {
            Scope::Namespace(ns) => format!("{verb} {} in {ns}", self.plural),
            Scope::Cluster => format!("{verb} {}", self.plural),
            Scope::Every => format!("{verb} {} in every namespace", self.plural),
        }
    }
}
