#!/bin/sh
# Rebuilds static/verify/noble.js: @noble/curves (BLS12-381) and @noble/ciphers (ChaCha20)
# bundled into one ES module, versions pinned in package.json / package-lock.json.
# Needs only npm (registry or a mirror); the output is committed and served by suiji,
# so the verifier page works on a closed network.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node_modules/.bin/esbuild entry.js --bundle --format=esm --minify \
  --legal-comments=inline --target=es2020 --outfile=../noble.js
