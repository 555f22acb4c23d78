// Where the tests find the compiled SDK: sdk/typescript/test sets
// PATCHBAY_SDK_JS to the tsc output (target/typescript-sdk/test/sdk/...).
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = process.env.PATCHBAY_SDK_JS;
if (!dir) {
  throw new Error('PATCHBAY_SDK_JS is not set: run the tests with sdk/typescript/test');
}

/** Imports a compiled SDK file, e.g. sdk('nhs-number.js'). */
export function sdk(file) {
  return import(pathToFileURL(join(dir, file)).href);
}
