' Body of the ribbon module (RibbonXlfrontier). xlfrontier.excel.addin.ribbon_vba() writes
' the module's header above it: Attribute VB_Name, Option Explicit and the constants APP_TITLE,
' UDF_MODULE, HELP_URL, HELP_KEY, TEMPLATE_KEY, CHECK_FUNCTION, CHECK_MIN_RANGES,
' CHECK_MAX_RANGES, CHECK_ARGUMENTS, and the variable lastStatus. No other substitution.

' ---------------------------------------------------------------- Recalculate

Public Sub Recalculate(control As IRibbonControl)
    If ActiveWorkbook Is Nothing Then
        MsgBox "Open a workbook first.", vbInformation, APP_TITLE
        Exit Sub
    End If
    Application.StatusBar = "xlfrontier: recalculating all open workbooks..."
    ' A full rebuild re-parses every formula: cells that show #NAME? because the workbook was
    ' opened before the add-in's functions were known link to them again.
    Application.CalculateFullRebuild
    ShowStatus "xlfrontier: recalculated at " & Format$(Now, "hh:nn:ss")
End Sub

' ---------------------------------------------------------------- Restart Python

Public Sub RestartPython(control As IRibbonControl)
    On Error GoTo failed
    KillPy
    ShowStatus "xlfrontier: Python stopped. Recalculate to start it again."
    Exit Sub
failed:
    MsgBox "Could not restart Python: " & Err.Description & vbLf & vbLf & _
           "Check the interpreter in " & GetConfigFilePath() & " or re-run install.ps1.", _
           vbExclamation, APP_TITLE
End Sub

' ---------------------------------------------------------------- New from template

Public Sub NewFromTemplate(control As IRibbonControl)
    Dim templateFile As String
    templateFile = TemplatePath()
    If Not CreateObject("Scripting.FileSystemObject").FileExists(templateFile) Then
        MsgBox "The xlfrontier template was not found:" & vbLf & templateFile & vbLf & vbLf & _
               "Re-run install.ps1, or set " & TEMPLATE_KEY & " in " & GetConfigFilePath() & ".", _
               vbExclamation, APP_TITLE
        Exit Sub
    End If
    ' Template:= opens a new unsaved workbook based on the file; the file itself stays untouched.
    Workbooks.Add Template:=templateFile
End Sub

Private Function TemplatePath() As String
    TemplatePath = GetConfig(TEMPLATE_KEY, "")
    If TemplatePath = "" Then
        TemplatePath = CreateObject("WScript.Shell").SpecialFolders("MyDocuments") & _
                       "\xlfrontier\xlfrontier_template.xlsx"
    End If
End Function

' ---------------------------------------------------------------- Freeze values

Public Sub FreezeValues(control As IRibbonControl)
    Dim source As Workbook, frozen As Workbook, fso As Object
    Dim target As Variant, tempCopy As String, skipped As String, problem As String
    Dim calcMode As Long, events As Boolean, screen As Boolean, alerts As Boolean

    Set source = ActiveWorkbook
    If source Is Nothing Then
        MsgBox "Open a workbook first.", vbInformation, APP_TITLE
        Exit Sub
    End If
    If source.Path = "" Then
        MsgBox "Save the workbook first, then click Freeze values again.", vbInformation, APP_TITLE
        Exit Sub
    End If
    target = Application.GetSaveAsFilename(InitialFileName:=SuggestedFrozenName(source), _
        FileFilter:="Excel Workbook (*.xlsx), *.xlsx", _
        Title:="Save a values-only copy (the original is not changed)")
    If VarType(target) = vbBoolean Then Exit Sub
    If StrComp(CStr(target), source.FullName, vbTextCompare) = 0 Then
        MsgBox "Choose another name: Freeze values never overwrites the original.", _
               vbExclamation, APP_TITLE
        Exit Sub
    End If
    Set fso = CreateObject("Scripting.FileSystemObject")
    If fso.FileExists(CStr(target)) Then
        If MsgBox(CStr(target) & " already exists. Replace it?", vbYesNo + vbQuestion, _
                  APP_TITLE) <> vbYes Then Exit Sub
    End If
    ' The copy is made on disk by SaveCopyAs: the open original is neither changed nor saved.
    tempCopy = fso.BuildPath(fso.GetSpecialFolder(2), "xlfrontier-freeze-" & _
               Format$(Now, "yyyymmdd-hhnnss") & "." & fso.GetExtensionName(source.Name))

    calcMode = Application.Calculation
    events = Application.EnableEvents
    screen = Application.ScreenUpdating
    alerts = Application.DisplayAlerts
    On Error GoTo failed
    Application.ScreenUpdating = False
    Application.EnableEvents = False
    Application.Calculation = xlCalculationManual

    source.SaveCopyAs tempCopy
    Set frozen = Workbooks.Open(Filename:=tempCopy, UpdateLinks:=0, AddToMru:=False)
    skipped = FreezeWorkbook(frozen)
    Application.DisplayAlerts = False
    frozen.SaveAs Filename:=CStr(target), FileFormat:=xlOpenXMLWorkbook
    frozen.Close SaveChanges:=False
    Set frozen = Nothing

cleanup:
    ' Reached on success and, through Resume, after a failure: nothing here may stop us.
    On Error Resume Next
    If Not frozen Is Nothing Then frozen.Close SaveChanges:=False
    fso.DeleteFile tempCopy, True
    Application.DisplayAlerts = alerts
    Application.Calculation = calcMode
    Application.EnableEvents = events
    Application.ScreenUpdating = screen
    source.Activate
    On Error GoTo 0
    If problem <> "" Then
        MsgBox "Freeze values failed: " & problem & vbLf & _
               "The original workbook was not changed.", vbExclamation, APP_TITLE
    ElseIf skipped <> "" Then
        MsgBox "Saved " & CStr(target) & vbLf & vbLf & _
               "These sheets are protected with a password and still hold formulas:" & skipped, _
               vbExclamation, APP_TITLE
    Else
        ShowStatus "xlfrontier: saved a values-only copy as " & CStr(target)
    End If
    Exit Sub

failed:
    problem = Err.Description
    If problem = "" Then problem = "error " & Err.Number
    Resume cleanup
End Sub

Private Function SuggestedFrozenName(ByVal book As Workbook) As String
    Dim stem As String, folder As String
    stem = book.Name
    If InStrRev(stem, ".") > 0 Then stem = Left$(stem, InStrRev(stem, ".") - 1)
    folder = book.Path
    If InStr(folder, "://") > 0 Then
        ' Cloud workbooks (OneDrive, SharePoint) have a URL as path: suggest Documents instead.
        folder = CreateObject("WScript.Shell").SpecialFolders("MyDocuments")
    End If
    SuggestedFrozenName = folder & "\" & stem & " (values).xlsx"
End Function

' Replaces every formula of the workbook by its value; returns the names of the sheets a
' password kept locked (one per line), "" when every sheet was frozen.
Private Function FreezeWorkbook(ByVal book As Workbook) As String
    Dim sheet As Worksheet, skipped As String
    For Each sheet In book.Worksheets
        If Not FreezeSheet(sheet) Then skipped = skipped & vbLf & "  " & sheet.Name
    Next sheet
    FreezeWorkbook = skipped
End Function

Private Function FreezeSheet(ByVal sheet As Worksheet) As Boolean
    Dim locked As Boolean, drawings As Boolean, scenarios As Boolean
    Dim allow(0 To 10) As Boolean
    Dim formulas As Range, cell As Range

    locked = sheet.ProtectContents
    If locked Then
        ' Remember the protection options so that the copy is protected like the original.
        drawings = sheet.ProtectDrawingObjects
        scenarios = sheet.ProtectScenarios
        With sheet.Protection
            allow(0) = .AllowFormattingCells
            allow(1) = .AllowFormattingColumns
            allow(2) = .AllowFormattingRows
            allow(3) = .AllowInsertingColumns
            allow(4) = .AllowInsertingRows
            allow(5) = .AllowInsertingHyperlinks
            allow(6) = .AllowDeletingColumns
            allow(7) = .AllowDeletingRows
            allow(8) = .AllowSorting
            allow(9) = .AllowFiltering
            allow(10) = .AllowUsingPivotTables
        End With
        On Error Resume Next
        sheet.Unprotect Password:=""
        On Error GoTo 0
        If sheet.ProtectContents Then Exit Function
    End If

    On Error Resume Next
    Set formulas = sheet.UsedRange.SpecialCells(xlCellTypeFormulas)
    On Error GoTo 0
    If Not formulas Is Nothing Then
        For Each cell In formulas.Cells
            ' A cell already frozen as part of an array or spill block has no formula left.
            If cell.HasFormula Then FreezeRange FormulaBlock(cell)
        Next cell
    End If

    If locked Then
        sheet.Protect DrawingObjects:=drawings, Contents:=True, Scenarios:=scenarios, _
            AllowFormattingCells:=allow(0), AllowFormattingColumns:=allow(1), _
            AllowFormattingRows:=allow(2), AllowInsertingColumns:=allow(3), _
            AllowInsertingRows:=allow(4), AllowInsertingHyperlinks:=allow(5), _
            AllowDeletingColumns:=allow(6), AllowDeletingRows:=allow(7), _
            AllowSorting:=allow(8), AllowFiltering:=allow(9), AllowUsingPivotTables:=allow(10)
    End If
    FreezeSheet = True
End Function

' The block a formula cell's value occupies: its spill range (dynamic arrays), its legacy
' array-formula range, or the cell itself. HasSpill and SpillingToRange exist only in Excels
' with dynamic arrays: called by name (late-bound) so that the module compiles on Excel
' 2016/2019, where the call fails at run time and is skipped.
Private Function FormulaBlock(ByVal cell As Range) As Range
    Dim spills As Boolean, inArray As Boolean
    Set FormulaBlock = cell
    On Error Resume Next
    spills = CallByName(cell, "HasSpill", VbGet)
    inArray = cell.HasArray
    On Error GoTo 0
    If spills Then
        Set FormulaBlock = CallByName(cell, "SpillingToRange", VbGet)
    ElseIf inArray Then
        Set FormulaBlock = cell.CurrentArray
    End If
End Function

Private Sub FreezeRange(ByVal block As Range)
    Dim values As Variant, r As Long, c As Long
    ' Value2 keeps full precision (Value rounds currency-formatted cells to 4 decimals).
    values = block.Value2
    If IsArray(values) Then
        For r = LBound(values, 1) To UBound(values, 1)
            For c = LBound(values, 2) To UBound(values, 2)
                values(r, c) = AsConstant(values(r, c))
            Next c
        Next r
    Else
        values = AsConstant(values)
    End If
    block.Value2 = values
End Sub

' Text goes back with a leading apostrophe so that Excel keeps it as text: without it a
' result such as "1/2" would become a date and "=x" a formula.
Private Function AsConstant(ByVal value As Variant) As Variant
    If VarType(value) = vbString Then
        If Len(value) = 0 Then AsConstant = Empty Else AsConstant = "'" & value
    Else
        AsConstant = value
    End If
End Function

' ---------------------------------------------------------------- Check inputs

Public Sub CheckInputs(control As IRibbonControl)
    Dim selected As Range, args() As Variant, result As Variant, i As Long

    If CHECK_FUNCTION = "" Then
        MsgBox "Input checks need the estimation functions, which this version of " & _
               "xlfrontier does not include. Update xlfrontier and re-run install.ps1.", _
               vbInformation, APP_TITLE
        Exit Sub
    End If
    If TypeName(Selection) <> "Range" Then
        MsgBox "Select the input ranges first: " & CHECK_ARGUMENTS & ".", vbInformation, APP_TITLE
        Exit Sub
    End If
    Set selected = Selection
    If selected.Areas.Count < CHECK_MIN_RANGES Or _
       (CHECK_MAX_RANGES >= 0 And selected.Areas.Count > CHECK_MAX_RANGES) Then
        MsgBox "Select the input ranges, holding Ctrl between them, in this order: " & _
               CHECK_ARGUMENTS & ".", vbInformation, APP_TITLE
        Exit Sub
    End If
    ReDim args(0 To selected.Areas.Count - 1)
    For i = 1 To selected.Areas.Count
        Set args(i - 1) = selected.Areas(i)
    Next i

    On Error GoTo failed
    Application.StatusBar = "xlfrontier: checking inputs..."
    ' The same call the worksheet function's wrapper makes; arguments left out take their
    ' Python defaults.
    result = XLPy.CallUDF(UDF_MODULE, CHECK_FUNCTION, args, ActiveWorkbook, Nothing)
    Application.StatusBar = False
    MsgBox Left$(ResultText(result), 1000), vbInformation, APP_TITLE & ": " & CHECK_FUNCTION
    Exit Sub
failed:
    Application.StatusBar = False
    MsgBox "Check inputs failed: " & Left$(Err.Description, 900), vbExclamation, APP_TITLE
End Sub

' One line per row, " | " between columns.
Private Function ResultText(ByVal result As Variant) As String
    Dim r As Long, c As Long, lastColumn As Long, text As String
    If Not IsArray(result) Then
        ResultText = CellText(result)
        Exit Function
    End If
    lastColumn = -1
    On Error Resume Next
    lastColumn = UBound(result, 2)
    On Error GoTo 0
    If lastColumn = -1 Then
        For r = LBound(result) To UBound(result)
            text = text & CellText(result(r)) & vbLf
        Next r
    Else
        For r = LBound(result, 1) To UBound(result, 1)
            For c = LBound(result, 2) To UBound(result, 2)
                If c > LBound(result, 2) Then text = text & " | "
                text = text & CellText(result(r, c))
            Next c
            text = text & vbLf
        Next r
    End If
    ResultText = text
End Function

Private Function CellText(ByVal value As Variant) As String
    Dim i As Long, text As String
    If IsArray(value) Then
        For i = LBound(value) To UBound(value)
            If i > LBound(value) Then text = text & " | "
            text = text & CellText(value(i))
        Next i
        CellText = text
    ElseIf IsError(value) Or IsNull(value) Or IsObject(value) Then
        CellText = "#N/A"
    Else
        CellText = CStr(value)
    End If
End Function

' ---------------------------------------------------------------- Help

Public Sub ShowHelp(control As IRibbonControl)
    Dim url As String
    url = GetConfig(HELP_KEY, HELP_URL)
    On Error GoTo failed
    ThisWorkbook.FollowHyperlink Address:=url, NewWindow:=True
    Exit Sub
failed:
    MsgBox "Open this page in your browser:" & vbLf & url, vbInformation, APP_TITLE
End Sub

' ---------------------------------------------------------------- status bar

Private Sub ShowStatus(ByVal message As String)
    lastStatus = message
    Application.StatusBar = message
    On Error Resume Next
    Application.OnTime Now + TimeSerial(0, 0, 8), _
                       "'" & ThisWorkbook.Name & "'!ClearXlfrontierStatus"
End Sub

' Run by Application.OnTime: hands the status bar back to Excel unless someone else wrote to it.
Public Sub ClearXlfrontierStatus()
    If CStr(Application.StatusBar) = lastStatus Then Application.StatusBar = False
End Sub

' ---------------------------------------------------------------- Diagnose
' First what only the add-in can see before Python runs, stopping with one sentence at the
' first blocking problem; then "python -m xlfrontier doctor" (console python.exe beside the
' configured interpreter, hidden, waited for), whose report is shown; last, a test call of
' MINVAR_WEIGHTS through the add-in itself. Late-bound objects only (WScript.Shell, FSO).

Public Sub Diagnose(control As IRibbonControl)
    Dim fso As Object, shell As Object, conf As String, interpreter As String, console As String
    Dim dllName As String, bitness As String, report As String, command As String, text As String
    Dim code As Long, stream As Object, inStartup As Boolean, lines As String

    Set fso = CreateObject("Scripting.FileSystemObject")
    conf = GetConfigFilePath()
    If Not fso.FileExists(conf) Then
        DiagnoseStop "The settings file " & conf & " does not exist. Run install.ps1 again."
        Exit Sub
    End If
    On Error Resume Next
    interpreter = GetConfig("INTERPRETER_WIN", "")
    If Err.Number <> 0 Then
        On Error GoTo 0
        DiagnoseStop "The settings file " & conf & " cannot be read. Run install.ps1 again."
        Exit Sub
    End If
    On Error GoTo 0
    If interpreter = "" Then
        DiagnoseStop "The settings file " & conf & " sets no Python (INTERPRETER_WIN). Run install.ps1 again."
        Exit Sub
    End If
    If Not fso.FileExists(interpreter) Then
        DiagnoseStop "The Python set in " & conf & " does not exist: " & interpreter & ". Run install.ps1 again."
        Exit Sub
    End If
    #If Win64 Then
        bitness = "64"
    #Else
        bitness = "32"
    #End If
    ' Where the runtime's XLPyLoadDLL looks: the interpreter's folder, then the one above it.
    dllName = "xlwings" & bitness & "-" & XLWINGS_VERSION & ".dll"
    If Not fso.FileExists(fso.BuildPath(fso.GetParentFolderName(interpreter), dllName)) And _
       Not fso.FileExists(fso.BuildPath(fso.GetParentFolderName(fso.GetParentFolderName(interpreter)), dllName)) Then
        DiagnoseStop dllName & " is not next to " & interpreter & " or in the folder above it: " & _
            "the Python environment does not match this " & bitness & "-bit Excel or this add-in. Run install.ps1 again."
        Exit Sub
    End If
    inStartup = (StrComp(ThisWorkbook.Path, Application.StartupPath, vbTextCompare) = 0)

    ' The console python.exe beside pythonw.exe, so that the report has an exit code.
    console = fso.BuildPath(fso.GetParentFolderName(interpreter), "python.exe")
    If Not fso.FileExists(console) Then console = interpreter
    report = fso.BuildPath(fso.GetSpecialFolder(2), "xlfrontier-doctor-" & Format$(Now, "yyyymmdd-hhnnss") & ".txt")
    command = Quoted(console) & " -m xlfrontier doctor --excel-bitness " & bitness & _
        " --addin " & Quoted(ThisWorkbook.FullName) & " --startup-path " & Quoted(Application.StartupPath) & _
        " --report " & Quoted(report)
    Application.StatusBar = "xlfrontier: diagnosing..."
    Set shell = CreateObject("WScript.Shell")
    On Error Resume Next
    code = shell.Run(command, 0, True)
    If Err.Number <> 0 Then
        text = "Could not run " & console & ": " & Err.Description
        code = -1
    End If
    On Error GoTo 0
    Application.StatusBar = False
    If fso.FileExists(report) Then
        Set stream = CreateObject("ADODB.Stream")
        stream.Type = 2
        stream.Charset = "utf-8"
        stream.Open
        stream.LoadFromFile report
        text = stream.ReadText
        stream.Close
        fso.DeleteFile report, True
    ElseIf text = "" Then
        text = "xlfrontier doctor wrote no report (exit code " & code & "): run " & command & _
            " in a Command Prompt to see why."
    End If
    If Not inStartup Then
        text = text & vbLf & "Note: this add-in runs from " & ThisWorkbook.Path & _
            ", not from Excel's start-up folder " & Application.StartupPath & "."
    End If
    text = text & vbLf & InExcelCheck()
    ShowDiagnosis text, code = 0
End Sub

Private Function Quoted(ByVal path As String) As String
    ' WScript.Shell.Run passes the line to CreateProcess: one pair of quotes around each path
    ' (which cannot itself contain a quote) keeps spaces, & and ^ literal.
    If InStr(path, """") > 0 Then Err.Raise vbObjectError + 710, APP_TITLE, "A path contains a quote: " & path
    Quoted = """" & path & """"
End Function

' The in-Excel path: evaluate a MINVAR_WEIGHTS call whose answer is known (two uncorrelated
' assets of equal variance: 50% / 50%).
Private Function InExcelCheck() As String
    Dim result As Variant
    On Error Resume Next
    result = Application.Evaluate("=MINVAR_WEIGHTS({0.1;0.1},{0.04,0;0,0.04},0.1)")
    If Err.Number <> 0 Then
        InExcelCheck = "FAIL  worksheet function: " & Err.Description
    ElseIf IsError(result) Then
        InExcelCheck = "FAIL  worksheet function: MINVAR_WEIGHTS returned an error value"
    ElseIf Not IsArray(result) Then
        InExcelCheck = "FAIL  worksheet function: MINVAR_WEIGHTS returned " & CStr(result)
    Else
        InExcelCheck = "OK    worksheet function: MINVAR_WEIGHTS answers in Excel"
    End If
End Function

Private Sub DiagnoseStop(ByVal sentence As String)
    MsgBox sentence, vbExclamation, APP_TITLE & ": Diagnose"
End Sub

Private Sub ShowDiagnosis(ByVal text As String, ByVal passed As Boolean)
    Dim sheet As Object, rows As Variant, i As Long
    rows = Split(Replace(text, vbCrLf, vbLf), vbLf)
    If UBound(rows) < 25 Then
        MsgBox text, IIf(passed, vbInformation, vbExclamation), APP_TITLE & ": Diagnose"
        Exit Sub
    End If
    Set sheet = Workbooks.Add.Worksheets(1)
    For i = 0 To UBound(rows)
        sheet.Cells(i + 1, 1).Value = "'" & rows(i)
    Next i
    sheet.Columns(1).AutoFit
End Sub
