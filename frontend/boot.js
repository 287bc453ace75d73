// Starts the web app: wasm-bindgen's module fetches and instantiates the wasm.
// A file rather than an inline script, so the content security policy can
// forbid inline scripts; scripts/build-frontend.sh rewrites the module's name
// to its hashed one.
import init from '/termaudit_web.js';

init();
