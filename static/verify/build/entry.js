// Entry point of the vendored bundle ../noble.js (built by build.sh).
export { bls12_381 } from '@noble/curves/bls12-381.js';
export { chacha20 } from '@noble/ciphers/chacha.js';
