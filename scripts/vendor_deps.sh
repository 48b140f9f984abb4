#!/usr/bin/env bash
# Fills third_party/ (ignored by git) with the sources and headers of every
# dependency except LibTorch and CUDA, at pinned versions, for a build with
# -DCOCOMIX_VENDORED_DEPS=ON (cmake/CocomixVendoredDeps.cmake) on a machine with
# no network and none of the Debian -dev packages. Copy the filled third_party/
# along with the tree.
#
#   scripts/vendor_deps.sh --mirrors DIR   take each source from a local bare git mirror:
#                                          DIR/OWNER+NAME/repo or DIR/OWNER+NAME (COCOMIX_MIRRORS)
#   scripts/vendor_deps.sh --download      download GitHub's tag archives (needs the network)
#   --dest DIR                             fill DIR instead of third_party/ (COCOMIX_THIRD_PARTY)
#
# Both ways check what they get: a mirror's tag must resolve to the pinned
# commit; a download's tar stream must have the pinned sha256. The sha256 is of
# the *uncompressed* tar (`gzip -dc`), because GitHub does not promise stable
# gzip bytes; each was computed here as
#   git archive --format=tar --prefix=<archive prefix>/ <commit> | sha256sum
# from the mirror, which is the stream GitHub's archive endpoint serves. They
# were not checked against an actual download (no access to github.com here).
# Only the files the build needs are kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mode=""
mirrors="${COCOMIX_MIRRORS:-}"
dest="${COCOMIX_THIRD_PARTY:-$COCOMIX_ROOT/third_party}"
while [ $# -gt 0 ]; do
  case "$1" in
    --mirrors) mode=mirror; mirrors="$2"; shift 2 ;;
    --download) mode=download; shift ;;
    --dest) dest="$2"; shift 2 ;;
    *) echo "usage: scripts/vendor_deps.sh (--mirrors DIR | --download) [--dest DIR]" >&2; exit 2 ;;
  esac
done
[ -z "$mode" ] && [ -n "$mirrors" ] && mode=mirror
[ -z "$mode" ] && { echo "vendor_deps: name --mirrors DIR (or COCOMIX_MIRRORS) or --download" >&2; exit 2; }

# name github-repo ref commit / tar-sha256 paths-to-keep (globs in the archive)
# (ref: the tag, or the commit itself; gloo has no release tags.)
PINS=(
  "json nlohmann/json v3.11.3 9cca280a4d0ccf0c08f47a99aa71d1b0e52f8d03
   1e829618216a2976add9023ab793b76ed35d52e6bbe62e49ee246b12ff2775b8 single_include LICENSE.MIT"
  "CLI11 CLIUtils/CLI11 v2.4.2 6c7b07a878ad834957b98d0f9ce1dbe0cb204fc9
   6dd123684afc4ae3de789a3d29d7ac4971a40cf56425c62e5cd49884c83d7a74 include LICENSE"
  "fmt fmtlib/fmt 10.2.1 e69e5f977d458f2650bb346dadf2ad30c5320281
   00871ab0c2d6c14cf34365b7b48f3b31fc9cff1601634d7a9b7fed4a27b255e0 include src LICENSE"
  "spdlog gabime/spdlog v1.13.0 7c02e204c92545f869e2f04edaab1f19fe8b19fd
   8571d46b48c9177d8cf9014cdf039bc4b195de1b31e714f527b568c15f17c825 include src LICENSE"
  "googletest google/googletest v1.15.2 b514bdc898e2951020cbdca1304b75f5950d1f59
   6d42fce81b6eff0f50f5f9c2d380558894cef52c9232a458076c54066887ddd9 googletest/include googletest/src LICENSE"
  "utf8proc JuliaStrings/utf8proc v2.8.0 1cb28a66ca79a0845e99433fd1056257456cef8b
   01067a2fa1adf1fe815d5d70d5c2d99aa6882593e9ee176a4739a703d90b9439 utf8proc.c utf8proc.h utf8proc_data.c LICENSE.md"
  "zlib madler/zlib v1.3.1 51b7f2abdade71cd9bb0e7a373ef2610ec6f9daf
   ec24b0b2983d8f707915a3735d892e068c968a0ac7bc26ffcbaa0e5d7a811a8a *.c *.h LICENSE"
  "zstd facebook/zstd v1.5.6 794ea1b0afca0f020f4e57b6732332231fb23c70
   89f406d3b7a499e935882397536642d394f52b085281072e44aaada0550c19c2 lib/common lib/compress lib/decompress lib/zstd.h lib/zstd_errors.h LICENSE"
  "bzip2 libarchive/bzip2 bzip2-1.0.8 6a8690fc8d26c815e798c588f796eabe9d684cf0
   a0e9b98f39134a39fd630c53493a6a6f0080b0decced642fa4882e1d2c72e116 *.c *.h LICENSE"
  "gloo pytorch/gloo 70dc360272dfc57e3617184c78ff9b06f8cd4757 70dc360272dfc57e3617184c78ff9b06f8cd4757
   4d567803654694bd7ac60c49bc820f6ea623998347f05f8efd4991cd8a470049 gloo LICENSE"
)

# GitHub names an archive's top folder <repo>-<tag without a leading v>, or <repo>-<commit>.
archive_prefix() { local repo=$1 ref=$2; ref="${ref#v}"; echo "${repo#*/}-$ref"; }

# Writes the pinned archive's tar stream to stdout.
tar_stream() {
  local repo=$1 ref=$2 commit=$3
  if [ "$mode" = mirror ]; then
    local git_dir="$mirrors/${repo/\//+}"
    [ -d "$git_dir/repo" ] && git_dir="$git_dir/repo"
    local resolved
    resolved=$(git --git-dir="$git_dir" rev-parse --verify -q "$ref^{commit}") ||
      { echo "vendor_deps: $ref not in the mirror $git_dir" >&2; return 1; }
    [ "$resolved" = "$commit" ] || { echo "vendor_deps: $repo $ref is $resolved, pinned $commit" >&2; return 1; }
    git --git-dir="$git_dir" archive --format=tar --prefix="$(archive_prefix "$repo" "$ref")/" "$commit"
  else
    local url="https://github.com/$repo/archive/$ref.tar.gz"
    [ "$ref" = "$commit" ] || url="https://github.com/$repo/archive/refs/tags/$ref.tar.gz"
    curl -fsSL "$url" | gzip -dc
  fi
}

mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pin in "${PINS[@]}"; do
  read -r name repo ref commit sha256 keep <<<"${pin//$'\n'/ }"
  prefix=$(archive_prefix "$repo" "$ref")
  tar_stream "$repo" "$ref" "$commit" > "$work/$name.tar"
  actual=$(sha256sum "$work/$name.tar" | cut -d' ' -f1)
  if [ "$actual" != "$sha256" ]; then
    echo "vendor_deps: $name: tar sha256 $actual, pinned $sha256" >&2
    exit 1
  fi
  rm -rf "${dest:?}/$name" "$work/x"
  mkdir -p "$work/x" "$dest/$name"
  tar -xf "$work/$name.tar" -C "$work/x"
  # $keep holds globs relative to the archive's top folder: expand them there.
  (cd "$work/x/$prefix" && cp -r --parents $keep "$dest/$name/")
  # Gloo: the headers only (see cmake/CocomixDist.cmake).
  [ "$name" = gloo ] && find "$dest/gloo/gloo" -type f ! -name '*.h' -delete
  echo "$repo $ref $commit" > "$dest/$name/VENDORED_FROM"
  echo "vendor_deps: $name $ref"
done

# Gloo's config.h is generated by its CMake build. These settings describe a
# Gloo with the TCP transport only; the build uses the headers for declarations,
# the code is the Gloo inside libtorch_cpu.
sed -e 's/@GLOO_VERSION_MAJOR@/0/' -e 's/@GLOO_VERSION_MINOR@/5/' -e 's/@GLOO_VERSION_PATCH@/0/' \
    -e 's/#cmakedefine01 GLOO_HAVE_TRANSPORT_TCP$/#define GLOO_HAVE_TRANSPORT_TCP 1/' \
    -e 's/#cmakedefine01 \(\w*\)/#define \1 0/' \
    <(tar -xOf "$work/gloo.tar" "$(archive_prefix pytorch/gloo 70dc360272dfc57e3617184c78ff9b06f8cd4757)/gloo/config.h.in") \
    > "$dest/gloo/gloo/config.h"
echo "vendor_deps: $(du -sh "$dest" | cut -f1) in $dest"
