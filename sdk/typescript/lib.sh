# Shared by sdk/typescript/build and sdk/typescript/test (sourced, not run).
#
# The pinned tools (package.json, package-lock.json: jco, componentize-js,
# TypeScript, esbuild and the WASI shim they run on) are installed once with
# `npm ci` into target/typescript-sdk/, and again whenever the lock changes.

ts_sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$ts_sdk/../.." && pwd)
tools=$root/target/typescript-sdk
bin=$tools/node_modules/.bin

die() {
    echo "build: $*" >&2
    exit 1
}

# Installs the pinned tools unless the installed ones match the lock.
ensure_tools() {
    command -v node >/dev/null || die "Node.js (20 or newer) is needed: install it, then run this again"
    command -v npm >/dev/null || die "npm is needed (it comes with Node.js)"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [[ $major -ge 20 ]] || die "Node.js 20 or newer is needed; this is $(node --version)"
    if tools_current; then
        return 0
    fi
    mkdir -p "$tools"
    exec 9>"$tools/install.lock"
    flock 9
    if ! tools_current; then
        echo "build: installing the TypeScript SDK's pinned tools into $tools (npm ci)" >&2
        rm -rf "$tools/node_modules" "$tools/package.json" "$tools/package-lock.json"
        cp "$ts_sdk/package.json" "$ts_sdk/package-lock.json" "$tools/"
        if ! (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2); then
            rm -rf "$tools/node_modules"
            die "npm ci failed in $tools: is the npm registry reachable?"
        fi
        cp "$ts_sdk/package-lock.json" "$tools/node_modules/.installed-lock.json"
    fi
    flock -u 9
    exec 9>&-
}

tools_current() {
    [[ -x $bin/componentize-js && -x $bin/jco && -x $bin/tsc && -x $bin/esbuild ]] &&
        cmp -s "$ts_sdk/package-lock.json" "$tools/node_modules/.installed-lock.json"
}

# Reads `world = "care:<standard>/<world>@<version>"` from a manifest's top
# level (before any [table]) and sets world, standard, world_name,
# world_version and wit (the WIT directory: wit/<standard>-<version> for an
# earlier release kept beside the newest, else wit/<standard>).
read_world() {
    local manifest=$1
    [[ -f $manifest ]] || die "no manifest: $manifest is missing"
    world=$(awk '
        /^[[:space:]]*\[/ { exit }
        /^[[:space:]]*world[[:space:]]*=/ {
            sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*$/, ""); print; exit
        }' "$manifest")
    [[ $world =~ ^care:([a-z0-9-]+)/([a-z0-9-]+)@([0-9]+\.[0-9]+\.[0-9]+)$ ]] ||
        die "$manifest: world must be care:<standard>/<world>@<version>, e.g. care:scheduling/scheduling-provider@0.2.0; it is '$world'"
    standard=${BASH_REMATCH[1]}
    world_name=${BASH_REMATCH[2]}
    world_version=${BASH_REMATCH[3]}
    if [[ -d $root/wit/$standard-$world_version ]]; then
        wit=$root/wit/$standard-$world_version
    elif [[ -d $root/wit/$standard ]]; then
        wit=$root/wit/$standard
    else
        die "$manifest names $world, but there is no standard at wit/$standard"
    fi
    grep -qs "^package care:$standard@$world_version;" "$wit"/*.wit ||
        die "$manifest names $world, but $wit is not care:$standard@$world_version (no such release here)"
}

# Generates the world's guest types into $1 (a build directory).
guest_types() {
    local dir=$1
    rm -rf "$dir/types"
    "$bin/jco" guest-types "$wit" --world-name "$world_name" -o "$dir/types" >/dev/null ||
        die "jco guest-types failed for $wit (world $world_name)"
    [[ -f $dir/types/$world_name.d.ts ]] || die "jco wrote no $dir/types/$world_name.d.ts"
}

# Writes a tsconfig.json to $1 (extending sdk/typescript/tsconfig.json, the
# compiler options) and runs tsc on it.
#   tsc_compile CONFIG ROOT_DIR OUT_DIR PATHS_JSON FILE...
tsc_compile() {
    local config=$1 root_dir=$2 out_dir=$3 paths=$4
    shift 4
    local files
    files=$(printf '%s\n' "$@" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8").trim().split("\n")))')
    cat >"$config" <<JSON
{
  "extends": "$ts_sdk/tsconfig.json",
  "compilerOptions": {
    "noEmit": false,
    "rootDir": "$root_dir",
    "outDir": "$out_dir",
    "paths": $paths
  },
  "include": [],
  "files": $files
}
JSON
    "$bin/tsc" -p "$config" >&2 || die "TypeScript errors (tsc -p $config): see above"
}

# Compiles the SDK (its helpers, and the operations of $standard if the SDK
# has them) against the guest types in $1/types, into
# $1/node_modules/@patchbay/sdk, where a module's `@patchbay/sdk` imports
# resolve (for tsc, esbuild and Node alike).
compile_sdk() {
    local dir=$1
    local out=$dir/node_modules/@patchbay/sdk
    rm -rf "$out"
    local files=("$dir/types/$world_name.d.ts" "$ts_sdk"/src/*.ts)
    if [[ -d $ts_sdk/src/$standard ]]; then
        files+=("$ts_sdk/src/$standard"/*.ts)
    fi
    tsc_compile "$dir/tsconfig.sdk.json" "$ts_sdk/src" "$out" '{}' "${files[@]}"
    cat >"$out/package.json" <<'JSON'
{
  "name": "@patchbay/sdk",
  "private": true,
  "type": "module",
  "exports": {
    ".": { "types": "./index.d.ts", "default": "./index.js" },
    "./*": { "types": "./*.d.ts", "default": "./*.js" }
  }
}
JSON
}

# Compiles a module's src/*.ts into $1/js, with `@patchbay/sdk` resolved to
# the SDK compiled by compile_sdk.
compile_module() {
    local dir=$1 module=$2
    local sources=("$module"/src/*.ts)
    [[ -f ${sources[0]} ]] || die "$module/src holds no .ts files"
    [[ -f $module/src/app.ts ]] || die "$module/src/app.ts is missing: it exports the standard's interface"
    rm -rf "$dir/js"
    local sdk=$dir/node_modules/@patchbay/sdk
    tsc_compile "$dir/tsconfig.module.json" "$module/src" "$dir/js" \
        "{ \"@patchbay/sdk\": [\"$sdk/index.d.ts\"], \"@patchbay/sdk/*\": [\"$sdk/*\"] }" \
        "$dir/types/$world_name.d.ts" "${sources[@]}"
}
