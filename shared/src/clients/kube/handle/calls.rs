//! The calls the product makes on an [`Objects`], each failing in the product's taxonomy.

use super::Objects;
use crate::base::error::Result;
use crate::clients::kube::{FIELD_MANAGER, from_kube};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::core::PartialObjectMeta;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// A merge patch names our field manager too, so `managedFields` says who wrote.
fn merge<P: Serialize + Debug>(patch: &P) -> (PatchParams, Patch<&P>) {
    (PatchParams::apply(FIELD_MANAGER), Patch::Merge(patch))
}

/// `Ok(None)` for the 404 of an object already gone; other failures stay failures.
fn absent_ok<T>(r: kube::Result<T>) -> kube::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

impl<K> Objects<K> {
    /// `r` with a failure in the taxonomy, saying it was `verb` on `name`.
    fn on<T>(&self, verb: &str, name: &str, r: kube::Result<T>) -> Result<T> {
        r.map_err(|e| from_kube(e, &self.doing(verb, name)))
    }

    /// `r` with a failure in the taxonomy, saying it was `verb` on the whole scope.
    fn on_all<T>(&self, verb: &str, r: kube::Result<T>) -> Result<T> {
        r.map_err(|e| from_kube(e, &self.doing_all(verb)))
    }
}

impl<K> Objects<K>
where
    K: Clone + DeserializeOwned + Debug,
{
    pub async fn get(&self, name: &str) -> Result<K> {
        self.on("read", name, self.api.get(name).await)
    }

    /// `None` when it does not exist.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        self.on("read", name, self.api.get_opt(name).await)
    }

    pub async fn list(&self, params: &ListParams) -> Result<Vec<K>> {
        self.on_all("list", self.api.list(params).await.map(|l| l.items))
    }

    /// Names, labels and annotations only: cheaper than [`Self::list`] for kinds with data.
    pub async fn list_metadata(&self, params: &ListParams) -> Result<Vec<PartialObjectMeta<K>>> {
        let r = self.api.list_metadata(params).await;
        self.on_all("list", r.map(|l| l.items))
    }

    pub async fn create(&self, object: &K) -> Result<K>
    where
        K: Serialize + Resource,
    {
        let r = self.api.create(&PostParams::default(), object).await;
        self.on("create", &object.name_any(), r)
    }

    pub async fn replace(&self, name: &str, object: &K) -> Result<K>
    where
        K: Serialize,
    {
        let r = self.api.replace(name, &PostParams::default(), object).await;
        self.on("replace", name, r)
    }

    /// A JSON merge patch (RFC 7386): `null` removes a field.
    pub async fn merge_patch<P: Serialize + Debug>(&self, name: &str, patch: &P) -> Result<K> {
        let (params, patch) = merge(patch);
        self.on("patch", name, self.api.patch(name, &params, &patch).await)
    }

    /// Deletes `name`; `false` when it was already gone.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        let r = absent_ok(self.api.delete(name, &DeleteParams::default()).await);
        self.on("delete", name, r).map(|gone| gone.is_some())
    }

    /// The `/scale` subresource of a Deployment or StatefulSet.
    pub async fn get_scale(&self, name: &str) -> Result<Scale> {
        self.on("read the scale of", name, self.api.get_scale(name).await)
    }

    pub async fn patch_scale<P: Serialize + Debug>(&self, name: &str, patch: &P) -> Result<Scale> {
        let (params, patch) = merge(patch);
        self.on(
            "scale",
            name,
            self.api.patch_scale(name, &params, &patch).await,
        )
    }
}

impl Objects<Pod> {
    pub async fn logs(&self, name: &str, params: &LogParams) -> Result<String> {
        self.on("read the logs of", name, self.api.logs(name, params).await)
    }
}
