/**
 * Loads `.env` from the working directory into process.env when the file exists. Values already in
 * the environment win (Node's loadEnvFile does not overwrite them).
 */
export function loadDotEnv(path = '.env'): void {
  try {
    process.loadEnvFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
