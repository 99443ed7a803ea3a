import protobuf from 'protobufjs';

/**
 * The subset of TensorBoard's public message schema epsilab writes and reads. Field numbers are those of
 * tensorboard/compat/proto/{event,summary,tensor,tensor_shape,types}.proto, plugins/hparams/{api,plugin_data}.proto
 * and google/protobuf/struct.proto; only what we use is declared.
 */
const SCHEMA = `
syntax = "proto3";
package epsilab.tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}

message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}

enum DataClass {
  DATA_CLASS_UNKNOWN = 0;
  DATA_CLASS_SCALAR = 1;
  DATA_CLASS_TENSOR = 2;
  DATA_CLASS_BLOB_SEQUENCE = 3;
}

enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_DOUBLE = 2;
  DT_STRING = 7;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  bytes tensor_content = 4;
  // Unpacked: a scalar then costs 5 bytes, and every protobuf decoder accepts both forms.
  repeated float float_val = 5 [packed = false];
  repeated double double_val = 6;
  repeated bytes string_val = 8;
}

// google.protobuf.Value and ListValue, declared here with snake_case names: protobufjs's bundled struct.proto uses
// camelCase names, and an object with snake_case keys would silently encode as an empty Value.
message StructValue {
  oneof kind {
    int32 null_value = 1;
    double number_value = 2;
    string string_value = 3;
    bool bool_value = 4;
    StructListValue list_value = 6;
  }
}

message StructListValue {
  repeated StructValue values = 1;
}

message HParamsPluginData {
  int32 version = 1;
  oneof data {
    Experiment experiment = 2;
    SessionStartInfo session_start_info = 3;
    SessionEndInfo session_end_info = 4;
  }
}

message Experiment {
  string description = 1;
  double time_created_secs = 3;
  repeated HParamInfo hparam_infos = 4;
  repeated MetricInfo metric_infos = 5;
  string name = 6;
}

enum HParamDataType {
  DATA_TYPE_UNSET = 0;
  DATA_TYPE_STRING = 1;
  DATA_TYPE_BOOL = 2;
  DATA_TYPE_FLOAT64 = 3;
}

message Interval {
  double min_value = 1;
  double max_value = 2;
}

message HParamInfo {
  string name = 1;
  string display_name = 2;
  string description = 3;
  HParamDataType type = 4;
  oneof domain {
    StructListValue domain_discrete = 5;
    Interval domain_interval = 6;
  }
}

message MetricName {
  string group = 1;
  string tag = 2;
}

message MetricInfo {
  MetricName name = 1;
  string display_name = 3;
  string description = 4;
}

enum SessionStatus {
  STATUS_UNKNOWN = 0;
  STATUS_SUCCESS = 1;
  STATUS_FAILURE = 2;
  STATUS_RUNNING = 3;
}

message SessionStartInfo {
  map<string, StructValue> hparams = 1;
  string model_uri = 2;
  string monitor_url = 3;
  string group_name = 4;
  double start_time_secs = 5;
}

message SessionEndInfo {
  SessionStatus status = 1;
  double end_time_secs = 2;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const message = (name: string) => root.lookupType(`epsilab.tensorboard.${name}`);

export const EventMessage = message('Event');
export const HParamsPluginDataMessage = message('HParamsPluginData');

export const DataClass = { SCALAR: 1, TENSOR: 2, BLOB_SEQUENCE: 3 } as const;
export const DataType = { FLOAT: 1, DOUBLE: 2, STRING: 7 } as const;
