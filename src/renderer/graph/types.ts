/** How a layer fares in the current config, as the graph view marks it. */
export type QuantState = 'quantized' | 'skipped' | 'not-quantizable';
