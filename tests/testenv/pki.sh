# Certificate and key generation for one environment; sourced by start.sh.
# shellcheck shell=bash

# EC keys keep generation instant; the service-account key is RSA because that is what
# real clusters sign with (RS256), and the plugins verify those tokens.
gen_ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

gen_sa_key() {
  local p="$1"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$p/sa.key.new" 2>/dev/null
  openssl pkey -in "$p/sa.key.new" -pubout -out "$p/sa.pub.new"
  mv "$p/sa.key.new" "$p/sa.key"
  mv "$p/sa.pub.new" "$p/sa.pub"
}

# issue_cert DIR NAME SUBJECT EXTENSIONS...
issue_cert() {
  local p="$1" name="$2" subj="$3"; shift 3
  local ext="$p/$name.ext"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$@" >"$ext"
  gen_ec_key "$p/$name.key"
  openssl req -new -key "$p/$name.key" -subj "$subj" -out "$p/$name.csr" 2>/dev/null
  openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$ext" -out "$p/$name.crt" 2>/dev/null
  rm -f "$p/$name.csr" "$ext"
}

gen_pki() {
  local p="$1" name="$2"
  mkdir -p "$p"
  gen_ec_key "$p/ca.key"
  openssl req -x509 -new -key "$p/ca.key" -subj "/CN=nvcf-testenv-ca-$name" -days 30 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$p/ca.crt" 2>/dev/null
  issue_cert "$p" apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # system:masters is the group the built-in cluster-admin ClusterRoleBinding names.
  issue_cert "$p" admin "/O=system:masters/CN=testenv-admin" "extendedKeyUsage=clientAuth"
  issue_cert "$p" controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  issue_cert "$p" scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
  # KWOK writes node and pod status the way kubelets do; it gets its own name in the audit log.
  issue_cert "$p" kwok "/O=system:masters/CN=kwok-controller" "extendedKeyUsage=clientAuth"
  gen_sa_key "$p"
}

# write_kubeconfig FILE USER SERVER PKI — credentials embedded so the file can be copied.
write_kubeconfig() {
  local file="$1" user="$2" server="$3" p="$4"
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$p/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$p/$user.crt")
    client-key-data: $(base64 -w0 <"$p/$user.key")
contexts:
- name: testenv
  context:
    cluster: testenv
    user: $user
current-context: testenv
EOF
  mv "$file.tmp" "$file"
}
