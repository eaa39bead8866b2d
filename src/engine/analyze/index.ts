// Public API of qtune's accuracy analyzer.
export { analyzeModels, type AnalyzeOptions } from './analyze';
export { compareTensors } from './metrics';
export { compareAccumulated, matchTensors, type AccumulatedResult, type CompareOptions } from './compare';
export { isolatedSensitivity, sensitivityFromSums, type IsolatedResult } from './isolated';
export { outputSensitivity, type OutputSensitivityResult } from './output-sensitivity';
export { readQdqLayers, dequantizeWeight, type QdqLayer, type QdqModelInfo } from './qdq-layers';
export { buildTwinModel, buildOnlyLayerQuantized, buildAllButLayer, type TwinModel } from './variants';
export { weightError, channelRanges } from './weights';
export { readStatsFile } from './stats';
export { suggestSkips } from './suggest';
export { reportToJson, parseReportJson, reportToCsv, reportToHtml, writeReports, type WrittenReports } from './report';
export { collectBatches, type SampleBatch } from './samples';
