import packageJson from '../package.json' with { type: 'json' };

/** The package version: the upstream User-Agent names it, /healthz reports it. */
export const VERSION: string = packageJson.version;
