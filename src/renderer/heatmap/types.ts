export interface HeatmapColumn {
  /** unique key (metric name, run id, …) */
  key: string;
  /** header text; defaults to key */
  label?: string;
  /** metric that decides the colour direction and the threshold */
  metric: string;
}
