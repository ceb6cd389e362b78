import manifest from '../../package.json';

/** The product version, from the extension's package.json (bundled in at build time). */
export const VERSION: string = manifest.version;
