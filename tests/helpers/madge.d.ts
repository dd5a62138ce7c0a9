/** The part of madge's API (a devDependency with no types of its own) the dependency-rule test uses. */
declare module 'madge' {
  interface MadgeResult {
    /** Each module (relative to the base folder) and the modules it imports. */
    obj(): Record<string, string[]>;
    circular(): string[][];
  }
  export default function madge(path: string, config?: { fileExtensions?: string[]; tsConfig?: string }): Promise<MadgeResult>;
}
