// A web address as people read it on a page: without the scheme and the final slash.

/** `https://el-sol.example/prep/` → `el-sol.example/prep`. */
export function addressInWords(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/\/$/, '');
}
