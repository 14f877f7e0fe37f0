' Procedures that xlfrontier.excel.addin puts into the xlwings runtime module of the add-in,
' in place of xlwings' own procedures of the same name (or added, for new names).
' Why: xlwings looks up its settings first in a sheet of the *active workbook*, then in a
' file in that workbook's folder, and pastes the interpreter it finds there into a cmd.exe
' command line. Any workbook opened in Excel could so choose the program the add-in starts.
' Here every setting comes from one place only, the user's own file
' %USERPROFILE%\.xlfrontier\xlfrontier.conf, or else from the fixed default of the caller.
' This file is not a VBA module: the builder cuts it into procedures at each header line.

Function GetConfig(configKey As String, Optional default As String = "", Optional source As String = "") As Variant
    ' xlfrontier: the user's config file, else the caller's default. Never a sheet, never a
    ' workbook's folder ("source" is accepted for compatibility; only "user" is searched).
    Dim configValue As String
    GetConfig = default
    If source = "" Or source = "user" Then
        If GetConfigFromFile(GetConfigFilePath(), configKey, configValue) Then
            GetConfig = configValue
        End If
    End If
    GetConfig = ExpandEnvironmentStrings(GetConfig)
End Function

Function ConfigFlag(configKey As String) As Boolean
    ' xlfrontier: a yes/no setting of the user's config file; off unless it says True (or 1).
    Select Case LCase$(Trim$(GetConfig(configKey, "False")))
        Case "true", "1"
            ConfigFlag = True
    End Select
End Function

Function ConfiguredInterpreter() As String
    ' xlfrontier: the Python interpreter, INTERPRETER_WIN of the user's config file only: a full
    ' path to an existing .exe whose characters are all literal inside cmd.exe quotes.
    Dim interpreter As String, i As Long, code As Long, bad As String
    interpreter = GetConfig("INTERPRETER_WIN", "")
    If interpreter = "" Then
        Err.Raise vbObjectError + 701, "xlfrontier", "Python is not set up for xlfrontier: " & _
            "INTERPRETER_WIN is missing from " & GetConfigFilePath() & ". Re-run install.ps1."
    End If
    If Not (interpreter Like "[A-Za-z]:\*" Or Left$(interpreter, 2) = "\\") Then
        Err.Raise vbObjectError + 702, "xlfrontier", "INTERPRETER_WIN in " & GetConfigFilePath() & _
            " must be a full path such as C:\...\pythonw.exe, not " & interpreter & ". Re-run install.ps1."
    End If
    For i = 1 To Len(interpreter)
        code = AscW(Mid$(interpreter, i, 1)) And &HFFFF&
        If code < 32 Or InStr("""%!", Mid$(interpreter, i, 1)) > 0 Then
            bad = Mid$(interpreter, i, 1)
            If code < 32 Then bad = "a control character"
            Err.Raise vbObjectError + 703, "xlfrontier", "The Python path " & interpreter & _
                " cannot be passed safely to cmd.exe (it contains " & bad & "). Install the Python " & _
                "environment in a folder whose name has no "" % or ! and re-run install.ps1."
        End If
    Next i
    If LCase$(Right$(interpreter, 4)) <> ".exe" Then
        Err.Raise vbObjectError + 704, "xlfrontier", "INTERPRETER_WIN in " & GetConfigFilePath() & _
            " must name python.exe or pythonw.exe, not " & interpreter & ". Re-run install.ps1."
    End If
    If Not FileExists(interpreter) Then
        Err.Raise vbObjectError + 705, "xlfrontier", "The Python set in " & GetConfigFilePath() & _
            " does not exist: " & interpreter & ". Re-run install.ps1."
    End If
    ConfiguredInterpreter = interpreter
End Function

Function XLPyCommand()
    ' xlfrontier: the command the xlwings DLL runs to start the function server. Compared with
    ' xlwings' version: the interpreter comes from ConfiguredInterpreter (no conda keys, no
    ' "python" looked up on the PATH or in the current folder); the workbook's folder and
    ' <workbook>.zip go on sys.path only if the user's file sets ADD_WORKBOOK_TO_PYTHONPATH to
    ' True (default False); Python's current-folder entries ('') are dropped before xlwings is
    ' imported and after prepare_sys_path. No license key.
    Dim interpreter As String, pythonPath As String, addWorkbook As String, consoleSwitch As String
    Dim activeName As String, thisName As String, extraPath As String, program As String

    interpreter = ConfiguredInterpreter()
    If ConfigFlag("ADD_WORKBOOK_TO_PYTHONPATH") Then
        addWorkbook = "true"
        activeName = ActiveWorkbook.FullName
        thisName = ThisWorkbook.FullName
    Else
        addWorkbook = "false"
    End If
    extraPath = GetConfig("PYTHONPATH")
    ' A final backslash would escape the closing quote below.
    Do While Right$(extraPath, 1) = "\"
        extraPath = Left$(extraPath, Len(extraPath) - 1)
    Loop
    ' The arguments of xlwings.utils.prepare_sys_path, in its order.
    pythonPath = addWorkbook & ";" & activeName & ";" & thisName & ";" & GetConfig("ONEDRIVE_CONSUMER_WIN") & _
        ";" & GetConfig("ONEDRIVE_COMMERCIAL_WIN") & ";" & GetConfig("SHAREPOINT_WIN") & ";" & extraPath
    If InStr(pythonPath, """") > 0 Or InStr(pythonPath, "%") > 0 Then
        Err.Raise vbObjectError + 706, "xlfrontier", "A folder for Python (PYTHONPATH or the workbook's " & _
            "path) contains "" or %, which cannot be passed safely to cmd.exe: rename it or remove it from " & _
            GetConfigFilePath() & "."
    End If
    ' Inside Python's string literal; for cmd.exe this stretch lies between \" pairs, i.e.
    ' outside quotes, so its special characters are escaped with ^.
    pythonPath = Replace(pythonPath, "\", "\\")
    pythonPath = Replace(pythonPath, "'", "\'")
    pythonPath = Replace(pythonPath, "^", "^^")
    pythonPath = Replace(pythonPath, "&", "^&")
    pythonPath = Replace(pythonPath, "<", "^<")
    pythonPath = Replace(pythonPath, ">", "^>")
    pythonPath = Replace(pythonPath, "|", "^|")

    ' /showconsole is a fictitious switch that cmd.exe ignores and the xlwings DLL reads.
    If ConfigFlag("SHOW CONSOLE") Then consoleSwitch = "/showconsole"

    If ConfigFlag("DEBUG UDFS") Then
        XLPyCommand = "{506e67c3-55b5-48c3-a035-eed5deea7d6d}"
    Else
        program = "import sys;sys.path[:]=[p for p in sys.path if p];import xlwings.utils;" & _
            "xlwings.utils.prepare_sys_path(\""" & pythonPath & "\"");" & _
            "sys.path[:]=[p for p in sys.path if p];import xlwings;xlwings.serve('$(CLSID)')"
        ' cmd /K strips the outer pair of quotes; the interpreter stays quoted, so spaces, & and ^
        ' in its path are literal.
        XLPyCommand = "cmd.exe " & consoleSwitch & " /K " & Chr(34) & Chr(34) & interpreter & Chr(34) & _
            " -B -c " & Chr(34) & program & Chr(34) & Chr(34)
    End If
End Function

Private Sub XLPyLoadDLL()
    ' xlfrontier: the DLL comes from the configured interpreter's folder (a base install) or
    ' the folder above it (a virtual environment), as in xlwings, without the conda keys.
    Dim interpreter As String
    interpreter = ConfiguredInterpreter()
    If LoadLibrary(ParentFolder(interpreter) + "\" + XLPyDLLName) = 0 Then
        If LoadLibrary(ParentFolder(ParentFolder(interpreter)) + "\" + XLPyDLLName) = 0 Then
            Err.Raise 1, Description:= _
                "Could not load " + XLPyDLLName + " from either of the following folders: " _
                + vbCrLf + ParentFolder(interpreter) _
                + vbCrLf + ", " + ParentFolder(ParentFolder(interpreter))
        End If
    End If
End Sub

Function has_dynamic_array() As Boolean
    ' xlfrontier: WorksheetFunction.Unique exists only in Excels with dynamic arrays; called by
    ' name (late-bound) so that this module compiles on Excel 2016/2019.
    On Error GoTo ErrHandler
    CallByName Application.WorksheetFunction, "Unique", VbMethod, "dummy"
    has_dynamic_array = True
    Exit Function
ErrHandler:
    has_dynamic_array = False
End Function
