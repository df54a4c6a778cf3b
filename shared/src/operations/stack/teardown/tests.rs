use super::*;
use crate::model::settings::MapEnv;

fn inputs(cfg: &str) -> Inputs {
    crate::model::stack::inputs::from_text(cfg, &MapEnv::new([]), false)
}

#[test]
fn compute_plane_first_and_persistent_namespaces_kept_apart() {
    let p = plan(
        Catalog::embedded(),
        &inputs("registry: r\nrepository: o/t\n"),
        Planes::All,
    )
    .unwrap();
    let names: Vec<&str> = p.releases.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(names[0], "nvca-operator");
    assert_eq!(*names.last().unwrap(), "nats");
    assert!(!names.contains(&"cert-manager"), "topology stays");
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("invocation-service") < pos("api"));
    assert!(pos("api") < pos("ess-api"));
    assert!(pos("openbao-server") < pos("nats"));
    assert_eq!(
        p.persistent_namespaces,
        ["cassandra-system", "nats-system", "vault-system"]
    );
    assert!(p.namespaces.contains(&"nvcf".to_owned()));
    assert!(p.namespaces.contains(&"nvca-system".to_owned()));
    assert!(
        !p.namespaces
            .iter()
            .any(|n| n == "cert-manager" || n == "envoy-gateway-system")
    );
    assert!(
        p.persistent
            .iter()
            .any(|o| o.name == "openbao-server-unseal")
    );
    assert!(p.leftovers.iter().any(|o| o.name == "cassandra-migrations"));
    assert!(
        !p.leftovers.iter().any(|o| o.name == "cassandra-init-cql"),
        "persistent, not leftover"
    );
}
