export function portFree(port: number, host?: string): Promise<boolean>;
export function freePort(preferred: number, host?: string, tries?: number): Promise<number | null>;
